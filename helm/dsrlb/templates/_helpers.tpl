{{/* Names and labels. */}}
{{- define "dsrlb.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "dsrlb.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "dsrlb.labels" -}}
{{ include "dsrlb.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "dsrlb.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "dsrlb.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "dsrlb.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* Where the agent sees the host's cgroup2 root (a hostPath mount). */}}
{{- define "dsrlb.cgroupMountPath" -}}/run/dsrlb/cgroupv2{{- end -}}

{{/* "true" when /metrics is published for Prometheus (prometheus.enabled, or a ServiceMonitor asked for). */}}
{{- define "dsrlb.metricsPublished" -}}{{ or .Values.prometheus.enabled .Values.prometheus.serviceMonitor.enabled }}{{- end -}}

{{/* Values that cannot be expressed in values.schema.json, checked with the reason. */}}
{{- define "dsrlb.validate" -}}
{{- if and .Values.kubeProxyReplacement (not .Values.k8sServiceHost) -}}
{{- fail "k8sServiceHost is required when kubeProxyReplacement is true: without kube-proxy nothing translates the kubernetes Service's ClusterIP until dsrlb has programmed it, and dsrlb needs the API server to do that. Set k8sServiceHost (and k8sServicePort) to the API server's real address, e.g. --set k8sServiceHost=10.0.0.1 --set k8sServicePort=6443" -}}
{{- end -}}
{{- if ne (int .Values.bpf.lbMapMax) 65536 -}}
{{- fail (printf "bpf.lbMapMax=%d: dsrlb sizes its Service maps when the image is built (DSRLB_MAX_SERVICES = 65536 in bpf/include/dsrlb.h); rebuild the image with another size, or leave bpf.lbMapMax at 65536" (int64 .Values.bpf.lbMapMax)) -}}
{{- end -}}
{{- $range := splitList "," (replace "-" "," .Values.nodePort.range) -}}
{{- if or (gt (int (index $range 0)) (int (index $range 1))) (gt (int (index $range 1)) 65535) -}}
{{- fail (printf "nodePort.range=%s: expected LOW,HIGH with LOW <= HIGH <= 65535, as the API server's --service-node-port-range" .Values.nodePort.range) -}}
{{- end -}}
{{- end -}}

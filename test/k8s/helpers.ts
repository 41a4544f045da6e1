/** Shared by the k8s source tests: bounded waits and small object builders. */
import type { ExecutionContext } from 'ava';
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';

/**
 * Polls until `cond` holds (an assertion: it passes then); fails the test
 * with `what` after `timeoutMs`. Generous default: these run on a loaded
 * 2-core machine.
 */
export async function until(t: ExecutionContext, cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) {
      t.fail(`timed out after ${timeoutMs} ms waiting for: ${what}`);
      throw new Error(`timed out waiting for: ${what}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  t.pass(what);
}

export function service(namespace: string, name: string, clusterIP: string, port = 80): V1Service {
  return {
    metadata: { namespace, name },
    spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], ports: [{ name: 'http', port, protocol: 'TCP', targetPort: 8080 }] },
  };
}

export function slice(namespace: string, name: string, serviceName: string, addresses: string[]): V1EndpointSlice {
  return {
    metadata: { namespace, name, labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: 'IPv4',
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true }, nodeName: 'node-a' })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

export function node(name: string, address: string): V1Node {
  return { metadata: { name }, status: { addresses: [{ type: 'InternalIP', address }] } };
}

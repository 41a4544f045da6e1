/**
 * The real agent process on a veth in a namespace a test creates, fed a
 * manifests directory (test/agent): setup, log capture and teardown in one place.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { projectRoot } from '../../src/bpf/index.js';
import { tempPinRoot } from './bpffs.js';
import { sh } from './netns.js';

export const agentBin = join(projectRoot, 'bin', 'dsrlb-agent.js');

/** A LoadBalancer Service "shop/web" on `port` with these backends on node-a, and node-a itself. */
export function webManifests(port: number, backends: string[]): string {
  return `
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec:
  type: LoadBalancer
  clusterIP: 203.0.113.1
  ports: [{ name: http, port: ${port}, targetPort: 8080, nodePort: 30080 }]
status: { loadBalancer: { ingress: [{ ip: 203.0.113.10 }] } }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: shop, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ name: http, port: 8080, protocol: TCP }]
endpoints:
${backends.map((a) => `  - { addresses: [${a}], nodeName: node-a }`).join('\n')}
---
apiVersion: v1
kind: Node
metadata: { name: node-a }
status: { addresses: [{ type: InternalIP, address: 198.51.100.1 }] }
`;
}

export interface RunningAgent {
  readonly ns: string;
  readonly root: string;
  /** The manifests file the agent follows. */
  readonly file: string;
  readonly process: ChildProcess;
  /** Everything it printed so far. */
  log(): string;
  /** Runs a command inside the node's network namespace (the host's bpffs stays visible). */
  inNode(cmd: string, args: string[]): string;
}

/** Starts the agent on eth0 (198.51.100.1/24) of a new namespace, following `manifests`; killed and removed at teardown. */
export function startAgent(t: ExecutionContext, manifests: string, extraArgs: string[] = []): RunningAgent {
  const ns = `dsrlbt-agent-${randomBytes(3).toString('hex')}`;
  sh('ip', ['netns', 'add', ns]);
  t.teardown(() => sh('ip', ['netns', 'del', ns]));
  sh('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
  for (const dev of ['lo', 'eth0', 'peer0']) sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  sh('ip', ['-n', ns, 'addr', 'add', '198.51.100.1/24', 'dev', 'eth0']);

  const dir = mkdtempSync(join(tmpdir(), 'dsrlb-agent-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'web.yaml');
  writeFileSync(file, manifests);
  const root = tempPinRoot(t);

  let log = '';
  // nsenter switches only the network namespace, so the host's bpffs stays visible.
  const inNs = ['nsenter', `--net=/run/netns/${ns}`];
  const child = spawn(inNs[0] as string, [...inNs.slice(1), 'node', agentBin,
    '--manifests', dir, '--node-name', 'node-a', '--devices', 'eth0', '--bpffs-root', root,
    '--metrics-addr', '127.0.0.1:9963', '--health-addr', '127.0.0.1:9964', ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => { log += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { log += d.toString(); });
  t.teardown(() => { child.kill('SIGKILL'); });
  return {
    ns, root, file, process: child, log: () => log,
    inNode: (cmd, args) => sh(inNs[0] as string, [...inNs.slice(1), cmd, ...args]),
  };
}

/**
 * Everything the agent can check before it touches the kernel: the devices
 * (exist, carry IPv4), this node's address and MTU, and the source (a
 * kubeconfig that loads, a manifests directory that lists). A failure here is
 * one line and an exit; nothing running has been changed.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { ifindex, links } from '../bpf/index.js';
import { createSource, type CreatedSource } from '../k8s/create-source.js';
import type { CreateSourceOptions } from '../k8s/create-source.js';
import { DsrlbError } from '../errors.js';
import type { AgentConfig } from './config.js';
import type { LocalNode } from './sync.js';

export interface Preflight {
  readonly local: LocalNode;
  readonly mtu: number;
  readonly source: CreatedSource;
}

function deviceMtu(device: string): number {
  const link = links(device)[0];
  if (!link) throw new DsrlbError('ERR_NO_DEVICE', 'no such network device', { subject: device, remedy: 'check --devices against `ip link`' });
  return link.mtu;
}

/** The first IPv4 address of a device, from `ip -j addr`. */
function deviceIpv4(device: string): string {
  const out = execFileSync('ip', ['-j', '-4', 'addr', 'show', 'dev', device], { encoding: 'utf8' });
  const parsed = JSON.parse(out) as { addr_info?: { local?: string }[] }[];
  const addr = parsed[0]?.addr_info?.[0]?.local;
  if (!addr) {
    throw new DsrlbError('ERR_NO_ADDRESS', 'device has no IPv4 address', {
      subject: device, remedy: 'give it an address, or leave it out of --devices',
    });
  }
  return addr;
}

function checkManifestsDir(dir: string): void {
  try {
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new DsrlbError('ERR_MANIFESTS_DIR', `cannot read the manifests directory (${code})`, {
      subject: dir, remedy: 'pass --manifests a readable directory', cause: e,
    });
  }
}

export function preflight(c: AgentConfig, sourceOptions: CreateSourceOptions = {}): Preflight {
  const addresses = c.devices.map((d) => {
    ifindex(d); // ERR_NO_DEVICE naming it
    return deviceIpv4(d);
  });
  const first = c.devices[0] ?? '';
  const local: LocalNode = { name: c.nodeName, address: c.nodeAddress ?? addresses[0] ?? '' };
  const mtu = c.mtu ?? deviceMtu(first);
  if (c.source.kind === 'manifests') checkManifestsDir(c.source.dir);
  return { local, mtu, source: createSource(c.source, sourceOptions) };
}

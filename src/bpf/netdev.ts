/**
 * Network devices of this process's network namespace, through netlink and
 * ioctls rather than sysfs: /sys shows the namespace it was mounted in, which
 * after `nsenter --net` is not ours.
 */
import { execFileSync } from 'node:child_process';
import { DsrlbError } from '../errors.js';
import { call } from './errors.js';
import { native } from './native.js';

function noDevice(name: string, cause?: unknown): DsrlbError {
  return new DsrlbError('ERR_NO_DEVICE', 'no such network device', { subject: name, remedy: 'check --devices against `ip link`', cause });
}

export function ifindex(name: string): number {
  try {
    return call(name, () => native().ifNameToIndex(name));
  } catch (e) {
    throw noDevice(name, e);
  }
}

export interface LinkInfo { readonly name: string; readonly ifindex: number; readonly mtu: number }

interface IpLink { ifname: string; ifindex: number; mtu: number }

/** Devices as `ip -j link` reports them (all, or one). */
export function links(name?: string): LinkInfo[] {
  let out: string;
  try {
    out = execFileSync('ip', ['-j', 'link', 'show', ...(name ? ['dev', name] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw name ? noDevice(name, e) : new DsrlbError('ERR_IP_LINK', '`ip -j link` failed', { remedy: 'install iproute2 (make deps)', cause: e });
  }
  return (JSON.parse(out) as IpLink[]).map((l) => ({ name: l.ifname, ifindex: l.ifindex, mtu: l.mtu }));
}

/**
 * A second client one router hop behind the lab's client, over a link with
 * a smaller MTU: the client namespace routes for it, so a packet too big for
 * that link gets ICMP fragmentation-needed from a router on the way, as on
 * the Internet (the lab's fabric is one L2 segment, where an oversized frame
 * is only dropped). Its own interface keeps MTU 1500, so it advertises a
 * full-size MSS and a pod's segments to it need path MTU discovery. The
 * namespace carries the lab's prefix, so `lab down` removes it with the lab.
 */
import { nsRun, run } from './sh.js';
import type { LabTopology } from './topology.js';

export const FAR_SUBNET = '192.0.2.0/24';
const ROUTER_SIDE = '192.0.2.1';
const FAR_ADDRESS = '192.0.2.2';
const FAR_PREFIX_LEN = 24;
const FAR_OWN_MTU = 1500;

export interface FarClient { readonly ns: string; readonly address: string; remove(): void }

export function addFarClient(topo: LabTopology, linkMtu: number): FarClient {
  const ns = `${topo.prefix}far`;
  const routerIf = 'far0';
  run('ip', ['netns', 'add', ns]);
  const remove = (): void => {
    for (const n of topo.nodes) {
      try { nsRun(n.ns, 'ip', ['route', 'del', FAR_SUBNET]); } catch { /* gone with the lab */ }
    }
    try { run('ip', ['netns', 'del', ns]); } catch { /* already gone */ }
  };
  try {
    nsRun(ns, 'ip', ['link', 'set', 'lo', 'up']);
    run('ip', ['link', 'add', routerIf, 'netns', topo.client.ns, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    // The router's side is the narrow link; the far client's own MTU stays full size.
    nsRun(topo.client.ns, 'ip', ['link', 'set', routerIf, 'mtu', String(linkMtu), 'up']);
    nsRun(ns, 'ip', ['link', 'set', 'eth0', 'mtu', String(FAR_OWN_MTU), 'up']);
    nsRun(topo.client.ns, 'ip', ['addr', 'add', `${ROUTER_SIDE}/${FAR_PREFIX_LEN}`, 'dev', routerIf]);
    nsRun(ns, 'ip', ['addr', 'add', `${FAR_ADDRESS}/${FAR_PREFIX_LEN}`, 'dev', 'eth0']);
    nsRun(ns, 'ip', ['route', 'add', 'default', 'via', ROUTER_SIDE]);
    nsRun(topo.client.ns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    for (const n of topo.nodes) nsRun(n.ns, 'ip', ['route', 'add', FAR_SUBNET, 'via', topo.client.address]);
  } catch (e) {
    remove();
    throw e;
  }
  return { ns, address: FAR_ADDRESS, remove };
}

/**
 * Node ids are derived, not allocated: a node's id is its IPv4 address as a
 * host-order u32. Every agent in the cluster computes the same id for the
 * same node, a restart needs no bookkeeping to keep them, and the agent can
 * set config.node_id before the first reconcile. 0 (0.0.0.0) is never a
 * node, so it stays free to mean "none".
 */
import { DsrlbError } from '../errors.js';
import { ipv4Value } from '../net/ip.js';

export function nodeIdForAddress(address: string): number {
  const id = ipv4Value(address);
  if (id < 0) {
    throw new DsrlbError('ERR_NODE_ADDRESS', `'${address}' is not an IPv4 address`, {
      subject: address, remedy: 'node addresses in the datapath are IPv4: pass the node\'s IPv4 address',
    });
  }
  if (id === 0) {
    throw new DsrlbError('ERR_NODE_ADDRESS', '0.0.0.0 is not a node address', { subject: address, remedy: 'pass the node\'s own IPv4 address' });
  }
  return id;
}

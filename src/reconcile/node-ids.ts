/**
 * Node ids are derived, not allocated: a node's id is its IPv4 address as a
 * host-order u32. Every agent in the cluster computes the same id for the
 * same node, a restart needs no bookkeeping to keep them, and the agent can
 * set config.node_id before the first reconcile. 0 (0.0.0.0) is never a
 * node, so it stays free to mean "none".
 */
import { isIPv4 } from 'node:net';
import { DsrlbError } from '../errors.js';

export function nodeIdForAddress(address: string): number {
  if (!isIPv4(address)) {
    throw new DsrlbError('ERR_NODE_ADDRESS', `'${address}' is not an IPv4 address`, {
      subject: address, remedy: 'node addresses in the datapath are IPv4: pass the node\'s IPv4 address',
    });
  }
  const [a, b, c, d] = address.split('.').map(Number) as [number, number, number, number];
  const id = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
  if (id === 0) {
    throw new DsrlbError('ERR_NODE_ADDRESS', '0.0.0.0 is not a node address', { subject: address, remedy: 'pass the node\'s own IPv4 address' });
  }
  return id;
}

/**
 * The lab's attacker: tools/syn-ack-flood in the client namespace sends, for
 * each random source port of the client, a SYN then an ACK to the VIP and
 * never completes a handshake (docs/lab.md). Bounded by its own arguments.
 */
import { DsrlbError } from '../errors.js';
import { LabEntries } from './entries.js';
import { nsRunAsync } from './sh.js';
import type { LabTopology } from './topology.js';

export interface FloodOptions {
  readonly vip: string;
  readonly port: number;
  /** Tuples a second (each is two packets). */
  readonly tuplesPerSecond: number;
  readonly seconds: number;
  readonly seed: number;
}

export interface FloodResult {
  readonly tuples: number;
  readonly packets: number;
  /** sendto failures (ENOBUFS under load). */
  readonly errors: number;
  readonly seconds: number;
  readonly packetsPerSecond: number;
}

export async function synAckFlood(topo: LabTopology, o: FloodOptions): Promise<FloodResult> {
  const args = [topo.client.address, o.vip, String(o.port), String(o.tuplesPerSecond), String(o.seconds), String(o.seed)];
  const out = await nsRunAsync(topo.client.ns, LabEntries.synAckFlood, args, (o.seconds + 30) * 1000);
  try {
    return JSON.parse(out) as FloodResult;
  } catch (e) {
    throw new DsrlbError('ERR_LAB_CLIENT', `syn-ack-flood printed no JSON: ${out.slice(0, 200)}`, { cause: e, remedy: 'run make build (build/tools/syn-ack-flood)' });
  }
}

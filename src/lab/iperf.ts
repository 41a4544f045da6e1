/** iperf3 from the lab's client: a download (-R, the server sends) with JSON output. */
import { DsrlbError } from '../errors.js';
import { IPERF_PORT } from './pods.js';
import { nsRunAsync } from './sh.js';

export interface IperfResult {
  /** What the client received, bits per second. */
  readonly bitsPerSecond: number;
  readonly bytes: number;
  /** TCP retransmits of the sender (the pod: in -R mode it reports them at the end). */
  readonly retransmits: number;
  readonly seconds: number;
}

interface IperfJson {
  error?: string;
  end?: {
    sum_received?: { bits_per_second?: number; bytes?: number; seconds?: number };
    sum_sent?: { retransmits?: number };
  };
}

export function parseIperf(text: string): IperfResult {
  let j: IperfJson;
  try {
    j = JSON.parse(text) as IperfJson;
  } catch (e) {
    throw new DsrlbError('ERR_LAB_IPERF', `iperf3 printed no JSON: ${text.slice(0, 200)}`, { cause: e });
  }
  if (j.error) throw new DsrlbError('ERR_LAB_IPERF', `iperf3: ${j.error}`, { remedy: 'are the iperf3 servers running in the pods?' });
  const r = j.end?.sum_received;
  return {
    bitsPerSecond: r?.bits_per_second ?? 0,
    bytes: r?.bytes ?? 0,
    retransmits: j.end?.sum_sent?.retransmits ?? 0,
    seconds: r?.seconds ?? 0,
  };
}

export interface IperfOptions {
  readonly server: string;
  readonly port?: number;
  readonly seconds: number;
  readonly streams?: number;
}

/** Runs in `ns`; the process is bounded by the test length plus a margin. */
export async function iperfDownload(ns: string, opts: IperfOptions): Promise<IperfResult> {
  const args = ['--client', opts.server, '--port', String(opts.port ?? IPERF_PORT), '--reverse', '--json',
    '--time', String(opts.seconds), '--parallel', String(opts.streams ?? 1), '--connect-timeout', '3000'];
  let out: string;
  try {
    out = await nsRunAsync(ns, 'iperf3', args, (opts.seconds + 15) * 1000);
  } catch (e) {
    // iperf3 exits 1 with its JSON (and the error in it) on stdout.
    const stdout = ((e as { cause?: { stdout?: string } }).cause?.stdout ?? '').trim();
    if (stdout.startsWith('{')) return parseIperf(stdout);
    throw e;
  }
  return parseIperf(out);
}

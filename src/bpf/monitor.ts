/**
 * The datapath side of `lbctl monitor` (docs/datapath.md, "Monitor"): opens
 * the gate in monitor_gate for the event types asked for, under a lease it
 * renews, reads monitor_events with libbpf's ring buffer, and decodes the
 * records. One reader per layout directory (the ring buffer has a single
 * consumer position): an exclusive flock on that directory, so a second
 * monitor is refused instead of stealing half the events.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DsrlbError } from '../errors.js';
import type { Lb4Tuple } from './codecs/connections.js';
import { dsrlbEvent, dsrlbMonitorPending, type DsrlbEvent } from './codecs/monitor.js';
import {
  DSRLB_GENEVE_OPT_TYPE_DSR, DSRLB_GENEVE_OPT_TYPE_SNAT, DSRLB_MONITOR_DROP, DSRLB_MONITOR_LEASE_MS, DSRLB_MONITOR_TRACE,
  dsrlb_hook, dsrlb_stat,
} from './consts.generated.js';
import { call } from './errors.js';
import type { BpfMap } from './map.js';
import { MapSpecs, openPinned } from './map-specs.js';
import { native, type NativeRingBuffer } from './native.js';

export const EVENTS_MAP = 'monitor_events';

export type MonitorEventType = 'drop' | 'trace';
export const MONITOR_EVENT_TYPES: readonly MonitorEventType[] = ['drop', 'trace'];
const TYPE_BITS: Readonly<Record<MonitorEventType, number>> = { drop: DSRLB_MONITOR_DROP, trace: DSRLB_MONITOR_TRACE };

export interface MonitorTuple {
  readonly saddr: string; readonly daddr: string; readonly sport: number; readonly dport: number; readonly proto: number;
}

/** A decoded monitor_events record. */
export interface MonitorEvent {
  /** bpf_ktime_get_ns() (CLOCK_MONOTONIC) of the event. */
  readonly monotonicNs: bigint;
  readonly cpu: number;
  readonly type: MonitorEventType;
  /** The counter the packet went to, as `lbctl bpf stats` names it (e.g. drop_truncated, tx_encap). */
  readonly reason: string;
  /** The program: XDP ingress, tc egress, or the socket LB's connect() / sendmsg() hooks (no packet, no device). */
  readonly hook: MonitorHook;
  readonly ifindex: number;
  readonly len: number;
  /** The program's return value (XDP_*, TC_ACT_*). */
  readonly verdict: number;
  /** The packet's tuple as it was dropped or left (of a Geneve frame: the inner packet). */
  readonly tuple: MonitorTuple;
  /** A Geneve frame: its outer addresses. */
  readonly outer: { readonly saddr: string; readonly daddr: string } | null;
  /**
   * A Geneve frame with dsrlb's option: the frontend it names, and whether DSR or SNAT; a socket call: the
   * frontend it addressed (`socket`).
   */
  readonly frontend: { readonly address: string; readonly port: number; readonly option: 'dsr' | 'snat' | 'socket' } | null;
}

const STAT_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(dsrlb_stat).map(([k, v]) => [v, k.replace(/^DSRLB_STAT_/, '').toLowerCase()]),
);

const tupleOf = (t: Lb4Tuple): MonitorTuple => ({ saddr: t.saddr, daddr: t.daddr, sport: t.sport, dport: t.dport, proto: t.proto });

export type MonitorHook = 'xdp' | 'tc-egress' | 'sock-connect' | 'sock-sendmsg';

const HOOKS: ReadonlyMap<number, MonitorHook> = new Map([
  [dsrlb_hook.DSRLB_HOOK_XDP, 'xdp'], [dsrlb_hook.DSRLB_HOOK_TC_EGRESS, 'tc-egress'],
  [dsrlb_hook.DSRLB_HOOK_SOCK_CONNECT, 'sock-connect'], [dsrlb_hook.DSRLB_HOOK_SOCK_SENDMSG, 'sock-sendmsg'],
]);

/** Events of the socket hooks: no packet, no device. */
export function isSocketHook(hook: MonitorHook): boolean {
  return hook === 'sock-connect' || hook === 'sock-sendmsg';
}

export function decodeEvent(raw: DsrlbEvent): MonitorEvent {
  const hook = HOOKS.get(raw.hook) ?? 'xdp';
  const option = isSocketHook(hook) ? 'socket'
    : raw.optType === DSRLB_GENEVE_OPT_TYPE_DSR ? 'dsr' : raw.optType === DSRLB_GENEVE_OPT_TYPE_SNAT ? 'snat' : null;
  return {
    monotonicNs: raw.tsNs,
    cpu: raw.cpu,
    type: raw.type === DSRLB_MONITOR_DROP ? 'drop' : 'trace',
    reason: STAT_NAMES.get(raw.reason) ?? `stat_${raw.reason}`,
    hook,
    ifindex: raw.ifindex,
    len: raw.len,
    verdict: raw.verdict,
    tuple: tupleOf(raw.tuple),
    outer: raw.outerSaddr === '0.0.0.0' && raw.outerDaddr === '0.0.0.0' ? null : { saddr: raw.outerSaddr, daddr: raw.outerDaddr },
    frontend: option ? { address: raw.frontendAddress, port: raw.frontendPort, option } : null,
  };
}

/** The records of one ring_buffer__consume batch (u32 length, then the record). */
export function decodeBatch(batch: Buffer): MonitorEvent[] {
  const out: MonitorEvent[] = [];
  for (let off = 0; off + 4 <= batch.length;) {
    const len = batch.readUInt32LE(off);
    off += 4;
    if (len >= dsrlbEvent.size) out.push(decodeEvent(dsrlbEvent.decode(batch, off)));
    off += len;
  }
  return out;
}

/** CLOCK_MONOTONIC now, in ns: the clock of bpf_ktime_get_ns() (libuv's hrtime reads it). */
export function monotonicNowNs(): bigint {
  return process.hrtime.bigint();
}

/** Gate value for `types` under a lease of `leaseMs` from now. */
export function gateFor(types: readonly MonitorEventType[], leaseMs: number, pid: number, nowNs: bigint = monotonicNowNs()) {
  return {
    expiresNs: nowNs + BigInt(leaseMs) * 1_000_000n,
    types: types.reduce((bits, t) => bits | TYPE_BITS[t], 0),
    ownerPid: pid,
  };
}

function lockedError(dir: string, pid: number): DsrlbError {
  return new DsrlbError('ERR_MONITOR_BUSY', `another lbctl monitor (pid ${pid || 'unknown'}) is reading this datapath's events`, {
    subject: dir, remedy: 'stop it first: the ring buffer has one reader',
  });
}

/** bpffs is root's (mode 0700): without the right to look, say so rather than "not pinned". */
function denied(path: string): void {
  try {
    statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EACCES') return;
    throw new DsrlbError('ERR_PERMISSION', 'no permission to read the pinned maps', {
      subject: path, remedy: 'run as root (or with CAP_BPF + CAP_NET_ADMIN + CAP_SYS_ADMIN)', cause: e,
    });
  }
}

export class MonitorSession {
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly lockFd: number,
    private readonly gate: BpfMap<number, ReturnType<typeof gateFor>>,
    private readonly pending: BpfMap<number, ReturnType<typeof dsrlbMonitorPending.decode>>,
    private readonly eventsFd: number,
    private readonly ring: NativeRingBuffer,
    private readonly types: readonly MonitorEventType[],
  ) {}

  /**
   * Opens the monitor maps pinned in layout directory `dir` and the gate for
   * `types`. Throws ERR_NOT_PINNED when no datapath is there, a BpfError
   * (EPERM: run as root) without privileges, ERR_MONITOR_BUSY when another
   * monitor reads it.
   */
  static open(dir: string, types: readonly MonitorEventType[]): MonitorSession {
    const eventsPath = join(dir, EVENTS_MAP);
    denied(eventsPath);
    if (!existsSync(eventsPath)) {
      throw new DsrlbError('ERR_NOT_PINNED', `no dsrlb datapath with monitor events is pinned here (${EVENTS_MAP} is missing)`, {
        subject: dir, remedy: 'is the agent running (a version with lbctl monitor), and is --bpffs-root the one it uses?',
      });
    }
    const eventsFd = call(eventsPath, () => native().objGet(eventsPath));
    const cleanups: (() => void)[] = [() => native().closeFd(eventsFd)];
    try {
      const gate = openPinned(dir, MapSpecs.monitorGate);
      cleanups.push(() => gate.close());
      const lockFd = call(dir, () => native().lockDir(dir));
      if (lockFd < 0) throw lockedError(dir, gate.lookup(0)?.ownerPid ?? 0);
      cleanups.push(() => native().closeFd(lockFd));
      const pending = openPinned(dir, MapSpecs.monitorPending);
      cleanups.push(() => pending.close());
      const ring = call(eventsPath, () => new (native().RingBuffer)(eventsFd));
      // What a monitor that died left noted or counted must not become this one's first event.
      pending.update(0, dsrlbMonitorPending.decode(Buffer.alloc(dsrlbMonitorPending.size)));
      const s = new MonitorSession(dir, lockFd, gate, pending, eventsFd, ring, types);
      s.renew();
      return s;
    } catch (e) {
      for (const c of cleanups.reverse()) c();
      throw e;
    }
  }

  /** Extends the lease (call every DSRLB_MONITOR_RENEW_MS). */
  renew(leaseMs: number = DSRLB_MONITOR_LEASE_MS): void {
    this.gate.update(0, gateFor(this.types, leaseMs, process.pid));
  }

  /** The events waiting in the ring buffer. */
  poll(): MonitorEvent[] {
    const batch = this.ring.consume();
    return batch ? decodeBatch(batch) : [];
  }

  /** Events the datapath could not write since this monitor opened: the ring buffer was full. */
  lost(): bigint {
    return (this.pending.lookupPerCpu(0) ?? []).reduce((sum, p) => sum + p.lost, 0n);
  }

  /** Closes the gate (no events, no cost) and releases the ring buffer and the lock. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.gate.update(0, { expiresNs: 0n, types: 0, ownerPid: 0 });
    } finally {
      this.ring.close();
      this.pending.close();
      this.gate.close();
      native().closeFd(this.eventsFd);
      native().closeFd(this.lockFd);
    }
  }
}

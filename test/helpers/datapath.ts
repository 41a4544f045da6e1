/**
 * A datapath under test: xdp_lb and tc_revnat loaded against a private pin
 * root, a veth whose routing and neighbours the test controls (bpf_fib_lookup
 * resolves next hops there), typed access to every map, and runs of the real
 * programs on packet bytes (BPF_PROG_RUN).
 *
 * The veth gets its own routing table, selected by an `iif` rule, so tests
 * running in parallel never see each other's routes: 198.51.100.0/24 is on
 * the veth, everything else is unreachable.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import {
  BPFFS_MOUNT, BpfMap, BpfObjectFile, BpfObjects, datapathObjects, DSRLB_BE_F_LIVE, DSRLB_BE_F_TERMINATING, DSRLB_GENEVE_OPT_CLASS, DSRLB_GENEVE_PORT, DSRLB_LOCAL_ANY,
  DSRLB_REPLY_BURST_DEFAULT, DSRLB_REPLY_RATE_DEFAULT, DSRLB_SNAT_PORT_MAX, DSRLB_SNAT_PORT_MIN, dsrlb_mode, dsrlb_stat, ensureBpffs, ifindex, MapFlags, MapType, native, portFilterWords, UpdateFlags,
} from '../../src/bpf/index.js';
import { freedSlot } from '../../src/bpf/backend-slots.js';
import type { Lb4Flow } from '../../src/bpf/codecs/connections.js';
import { maglevEntries } from '../../src/bpf/codecs/maglev.js';
import { maglevInnerSpec, MapSpecs, mapOf } from '../../src/bpf/map-specs.js';
import { markMoved } from '../../src/reconcile/moved-slots.js';
import { buildFrame, type FrameSpec, type TcpSpec, type UdpSpec } from '../../src/packet/index.js';
import { requireRoot } from './root.js';

export const XdpAction = { ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 } as const;
/** TC_ACT_*; UNSPEC (-1, "continue with the next filter") as BPF_PROG_RUN's unsigned retval. */
export const TcAction = { UNSPEC: 0xffffffff, OK: 0, SHOT: 2 } as const;

/** Addresses from docs/design.md §7. */
export const Addr = {
  client: '198.51.100.100',
  lbNode: '198.51.100.1',
  backendNode: '198.51.100.2',
  otherNode: '198.51.100.3',
  /** Not a node: its Geneve packets must be dropped. */
  stranger: '198.51.100.77',
  /** Routed nowhere: FIB lookups towards it fail. */
  unroutable: '192.0.2.50',
  vip: '203.0.113.10',
  localPod: '198.18.1.5',
  pod: '198.18.2.5',
  pod2: '198.18.2.6',
} as const;

export const Mac = {
  /** The LB node's NIC (the test veth). */
  nic: '02:00:00:00:00:10',
  /** Next hop towards the client. */
  router: '02:00:00:00:00:01',
  backendNode: '02:00:00:00:00:02',
  otherNode: '02:00:00:00:00:03',
} as const;

export const NodeId = { lb: 1, backend: 2, other: 3, unroutable: 9 } as const;
export const Proto = { TCP: 6, UDP: 17 } as const;
export const SvcFlag = { AFFINITY: 0x01, SOURCE_RANGES: 0x02, NOEP_REJECT: 0x04, NOEP_DROP: 0x08 } as const;

export type Mode = 'dsr' | 'snat' | 'hybrid';

/** What a test pins down of an lb4_flows value: the choice (its state, flags and creation time are the datapath's view and clock). */
export type FlowChoice = Omit<Lb4Flow, 'state' | 'flags' | 'createdS'>;

/** An lb4_flows choice as the datapath records it for a setService() service (revnat id = service id, frontend generation 1). */
export function flowEntry(backendId: number, serviceId = 1, backendGeneration = 1): FlowChoice {
  return { backendId, serviceId, backendGeneration, revnatId: serviceId, frontendGeneration: 1 };
}

/** A flow entry written by hand: no state, no creation time (as an entry translated from an older layout). */
export function handFlow(f: FlowChoice): Lb4Flow {
  return { ...f, state: 0, flags: 0, createdS: 0 };
}
export type StatName = { [K in keyof typeof dsrlb_stat]: K extends `DSRLB_STAT_${infer S}` ? S : never }[keyof typeof dsrlb_stat];

export interface RunResult {
  readonly retval: number;
  /** The frame as the program left it. */
  readonly out: Buffer;
  /** Kernel-measured run time, ns. */
  readonly duration: number;
}

/** Where cleanup steps are registered: an ava test, or a benchmark's own list. They run last-in first-out. */
export interface Cleanup {
  teardown(fn: () => void): void;
}

export interface BackendSpec {
  readonly id: number;
  readonly address: string;
  readonly port: number;
  readonly nodeId: number;
  readonly proto?: number;
  readonly terminating?: boolean;
  /** lb4_backend.generation (default 1) */
  readonly generation?: number;
}

export interface ServiceSpec {
  readonly vip?: string;
  readonly port?: number;
  readonly proto?: number;
  readonly serviceId: number;
  /** Backend ids; the Maglev table repeats them in order (slot s -> ids[s % n]). */
  readonly backends: readonly number[];
  /** Counted as active backends; defaults to backends.length. */
  readonly backendCount?: number;
  readonly flags?: number;
  readonly affinityTimeout?: number;
  readonly maglevSize?: number;
  /** lb4_frontends generation of its slot (revnat id = service id; default 1) */
  readonly frontendGeneration?: number;
}

function sh(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

function tryCleanup(fn: () => void): void {
  try { fn(); } catch { /* already gone */ }
}

function privatePinRoot(t: Cleanup): string {
  const root = join(BPFFS_MOUNT, `dsrlb-test-${randomBytes(4).toString('hex')}`);
  ensureBpffs(root);
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

/** A veth with its own routing table and permanent neighbours for the test addresses. */
function testNetwork(t: Cleanup): { ifname: string; ifindex: number } {
  const id = randomBytes(3).toString('hex');
  const nic = `dpt${id}a`;
  const peer = `dpt${id}b`;
  const table = String(randomInt(10_000, 2_000_000_000));
  sh('ip', ['link', 'add', nic, 'address', Mac.nic, 'type', 'veth', 'peer', 'name', peer]);
  t.teardown(() => {
    tryCleanup(() => sh('ip', ['rule', 'del', 'iif', nic, 'table', table]));
    tryCleanup(() => sh('ip', ['route', 'flush', 'table', table]));
    tryCleanup(() => sh('ip', ['link', 'del', nic]));
  });
  sh('ip', ['link', 'set', nic, 'up']);
  sh('ip', ['link', 'set', peer, 'up']);
  // bpf_fib_lookup answers only for devices that forward.
  sh('sysctl', ['-qw', `net.ipv4.conf.${nic}.forwarding=1`]);
  sh('ip', ['rule', 'add', 'iif', nic, 'table', table]);
  sh('ip', ['route', 'add', '198.51.100.0/24', 'dev', nic, 'table', table]);
  sh('ip', ['route', 'add', 'unreachable', 'default', 'table', table]);
  for (const [addr, mac] of [[Addr.client, Mac.router], [Addr.backendNode, Mac.backendNode], [Addr.otherNode, Mac.otherNode]] as const) {
    sh('ip', ['neigh', 'replace', addr, 'lladdr', mac, 'dev', nic, 'nud', 'permanent']);
  }
  return { ifname: nic, ifindex: ifindex(nic) };
}

export class Datapath {
  readonly maps;
  /** Each service's table as last set, unmarked, and its previous table: the marks follow both. */
  private readonly tablesSet = new Map<number, ArrayLike<number>>();
  private readonly prevSet = new Map<number, ArrayLike<number>>();

  private constructor(
    readonly ifname: string, readonly ifindex: number, readonly xdp: BpfObjectFile, readonly tc: BpfObjectFile,
    /** Where the maps are pinned (lbctl's --bpffs-root, a monitor's layout directory; a reconciler may open them there). */
    readonly pinRoot: string,
  ) {
    this.maps = {
      services: mapOf(xdp, MapSpecs.services),
      frontends: mapOf(xdp, MapSpecs.frontends),
      backends: mapOf(xdp, MapSpecs.backends),
      localBackends: mapOf(xdp, MapSpecs.localBackends),
      revnat: mapOf(xdp, MapSpecs.revnat),
      maglev: mapOf(xdp, MapSpecs.maglev),
      maglevPrev: mapOf(xdp, MapSpecs.maglevPrev),
      maglevPrevSize: mapOf(xdp, MapSpecs.maglevPrevSize),
      flows: mapOf(xdp, MapSpecs.flows),
      /** Absent from a build before the two flow tables (bench/datapath.ts's baseline): opened on use. */
      get flowsNew() { return mapOf(xdp, MapSpecs.flowsNew); },
      get snatNew() { return mapOf(xdp, MapSpecs.snatNew); },
      /** These three differ in a build before the two reverse-NAT tables (bench/datapath.ts's baseline): opened on use. */
      get dsrRevnat() { return mapOf(xdp, MapSpecs.dsrRevnat); },
      get dsrRevnatNew() { return mapOf(xdp, MapSpecs.dsrRevnatNew); },
      get backendFrontends() { return mapOf(xdp, MapSpecs.backendFrontends); },
      fragRevnat: mapOf(xdp, MapSpecs.fragRevnat),
      snat: mapOf(xdp, MapSpecs.snat),
      affinity: mapOf(xdp, MapSpecs.affinity),
      sourceRanges: mapOf(xdp, MapSpecs.sourceRanges),
      nodes: mapOf(xdp, MapSpecs.nodes),
      nodeAddrs: mapOf(xdp, MapSpecs.nodeAddrs),
      config: mapOf(xdp, MapSpecs.config),
      stats: mapOf(xdp, MapSpecs.stats),
      /** Absent from a build before it (bench/datapath.ts's baseline): opened on use. */
      get statsBytes() { return mapOf(xdp, MapSpecs.statsBytes); },
      portFilter: mapOf(xdp, MapSpecs.portFilter),
      monitorGate: mapOf(xdp, MapSpecs.monitorGate),
    };
  }

  /**
   * This node is NodeId.lb (Addr.lbNode); NodeId.backend and NodeId.other are
   * reachable nodes, NodeId.unroutable is a node no route leads to.
   */
  static open(t: ExecutionContext, opts: { mode?: Mode; mtu?: number } = {}): Datapath {
    requireRoot(t);
    return Datapath.create(t, opts);
  }

  /** Without ava (benchmarks): the caller runs the cleanup steps. */
  static create(t: Cleanup, opts: { mode?: Mode; mtu?: number; objectDir?: string } = {}): Datapath {
    const root = privatePinRoot(t);
    const net = testNetwork(t);
    const objects = opts.objectDir ? datapathObjects(opts.objectDir) : BpfObjects;
    const xdp = BpfObjectFile.load(objects.xdpLb, { pinRoot: root });
    t.teardown(() => xdp.close());
    const tc = BpfObjectFile.load(objects.tcRevnat, { pinRoot: root });
    t.teardown(() => tc.close());
    const dp = new Datapath(net.ifname, net.ifindex, xdp, tc, root);
    dp.setConfig({ mode: opts.mode ?? 'dsr', mtu: opts.mtu ?? 1500 });
    dp.addNode(NodeId.lb, Addr.lbNode);
    dp.addNode(NodeId.backend, Addr.backendNode);
    dp.addNode(NodeId.other, Addr.otherNode);
    dp.addNode(NodeId.unroutable, Addr.unroutable);
    return dp;
  }

  setConfig(c: {
    mode?: Mode; mtu?: number; snatPortMin?: number; snatPortMax?: number; nodeId?: number; genevePort?: number;
    replyRate?: number; replyBurst?: number; localEpoch?: number;
  }): void {
    const cur = this.maps.config.lookup(0);
    const mode = c.mode === undefined ? cur?.mode ?? dsrlb_mode.DSRLB_MODE_DSR
      : dsrlb_mode[`DSRLB_MODE_${c.mode.toUpperCase()}` as keyof typeof dsrlb_mode];
    this.maps.config.update(0, {
      nodeId: c.nodeId ?? NodeId.lb,
      nodeAddress: Addr.lbNode,
      mode,
      mtu: c.mtu ?? cur?.mtu ?? 1500,
      genevePort: c.genevePort ?? (cur?.genevePort || DSRLB_GENEVE_PORT),
      optClass: DSRLB_GENEVE_OPT_CLASS,
      snatPortMin: c.snatPortMin ?? DSRLB_SNAT_PORT_MIN,
      snatPortMax: c.snatPortMax ?? DSRLB_SNAT_PORT_MAX,
      replyRate: c.replyRate ?? (cur?.replyRate || DSRLB_REPLY_RATE_DEFAULT),
      replyBurst: c.replyBurst ?? (cur?.replyBurst || DSRLB_REPLY_BURST_DEFAULT),
      localEpoch: c.localEpoch ?? (cur?.localEpoch || 1),
      sockNetnsCookie: 0n,
    });
  }

  addNode(id: number, address: string): void {
    this.maps.nodes.update(id, { address });
    this.maps.nodeAddrs.update(address, id);
  }

  addBackend(b: BackendSpec): void {
    this.maps.backends.update(b.id, {
      address: b.address, port: b.port, proto: b.proto ?? Proto.TCP, nodeId: b.nodeId, generation: b.generation ?? 1,
      flags: DSRLB_BE_F_LIVE | (b.terminating ? DSRLB_BE_F_TERMINATING : 0),
    });
  }

  /**
   * A backend on this node in service `serviceId`'s backend set, as the
   * control plane writes lb4_local_backends (with the "any service" entry).
   */
  addLocalBackend(b: { address: string; port: number; proto?: number; serviceId: number; backendId?: number }): void {
    const key = { address: b.address, port: b.port, proto: b.proto ?? Proto.TCP };
    this.maps.localBackends.update({ ...key, serviceId: b.serviceId }, b.backendId ?? 1);
    this.maps.localBackends.update({ ...key, serviceId: DSRLB_LOCAL_ANY }, b.backendId ?? 1);
  }

  /** Removes the frontend of service `serviceId` as the control plane does: slot freed first, then the lb4_services entry. */
  removeService(serviceId: number, vip: string = Addr.vip, port = 80, proto: number = Proto.TCP): void {
    const slot = this.maps.frontends.lookup(serviceId);
    this.maps.frontends.update(serviceId, { serviceId: 0, generation: slot?.generation ?? 0, flags: 0 });
    this.maps.services.delete({ address: vip, port, proto });
  }

  /** Frees backend `id`'s slot as the control plane does (its generation stays). */
  removeBackend(id: number): void {
    this.maps.backends.update(id, freedSlot(this.maps.backends.lookup(id)?.generation ?? 0));
  }

  /**
   * A Maglev table of exactly these slots for the service
   * (DSRLB_MAGLEV_SLOTS_PER_ENTRY per inner array element). Returns the inner map's memory in bytes.
   */
  setMaglev(serviceId: number, slots: ArrayLike<number>): number {
    this.tablesSet.set(serviceId, slots);
    return this.putTable(this.maps.maglev, serviceId, this.marked(serviceId, slots));
  }

  /**
   * The service's previous table (lb4_maglev_prev) of exactly these slots,
   * with its size, as the control plane writes it: size out, table in, size
   * in; then its current table again, marked against it. Returns the inner
   * map's memory in bytes.
   */
  setPrevMaglev(serviceId: number, slots: ArrayLike<number>): number {
    return this.setPrevMaglevBatch([[serviceId, slots]]);
  }

  /** Previous tables for many services at once (setPrevMaglev's order: sizes out, tables in, sizes in, current tables marked). */
  setPrevMaglevBatch(tables: readonly (readonly [serviceId: number, slots: ArrayLike<number>])[]): number {
    this.maps.maglevPrevSize.updateBatch(tables.map(([sid]) => [sid, 0]));
    const bytes = this.putTables(this.maps.maglevPrev, tables);
    this.maps.maglevPrevSize.updateBatch(tables.map(([sid, slots]) => [sid, slots.length]));
    for (const [sid, slots] of tables) this.prevSet.set(sid, slots);
    const current = tables.flatMap(([sid]) => {
      const slots = this.tablesSet.get(sid);
      return slots ? [[sid, this.marked(sid, slots)] as const] : [];
    });
    this.putTables(this.maps.maglev, current);
    return bytes;
  }

  /** The service's current table without moved marks, as an agent from before them wrote it. */
  setMaglevUnmarked(serviceId: number, slots: ArrayLike<number>): number {
    this.tablesSet.set(serviceId, slots);
    return this.putTable(this.maps.maglev, serviceId, slots);
  }

  /** A current table as the control plane writes it: slots its previous table sends elsewhere marked (moved-slots.ts). */
  private marked(serviceId: number, slots: ArrayLike<number>): Uint32Array {
    const out = Uint32Array.from(slots);
    const prev = this.prevSet.get(serviceId);
    if (prev) markMoved(out, prev);
    return out;
  }

  private putTable(outer: BpfMap<number, number>, serviceId: number, slots: ArrayLike<number>): number {
    const entries = maglevEntries(slots);
    const fd = native().mapCreate(MapType.ARRAY, 'lb4_maglev_in', 4, maglevInnerSpec.value.size, entries.length, MapFlags.INNER_MAP);
    const inner = new BpfMap(fd, maglevInnerSpec.key, maglevInnerSpec.value, true, 'lb4_maglev_inner');
    try {
      inner.updateBatch(entries);
      const fdValue = Buffer.alloc(4);
      fdValue.writeUInt32LE(fd);
      // The outer map holds its own reference: the fd can go.
      outer.updateRaw(serviceId, fdValue);
      return inner.info().memoryBytes;
    } finally {
      inner.close();
    }
  }

  /**
   * Maglev tables for many services at once: one lb4_maglev update per call
   * (each update of a map of maps waits for an RCU grace period, ~10 ms).
   * Returns the inner maps' memory in bytes.
   */
  setMaglevBatch(tables: readonly (readonly [serviceId: number, slots: ArrayLike<number>])[]): number {
    for (const [sid, slots] of tables) this.tablesSet.set(sid, slots);
    return this.putTables(this.maps.maglev, tables.map(([sid, slots]) => [sid, this.marked(sid, slots)] as const));
  }

  private putTables(outer: BpfMap<number, number>, tables: readonly (readonly [serviceId: number, slots: ArrayLike<number>])[]): number {
    const fds: number[] = [];
    let bytes = 0;
    try {
      for (const [, slots] of tables) {
        const entries = maglevEntries(slots);
        const fd = native().mapCreate(MapType.ARRAY, 'lb4_maglev_in', 4, maglevInnerSpec.value.size, entries.length, MapFlags.INNER_MAP);
        fds.push(fd);
        const inner = new BpfMap(fd, maglevInnerSpec.key, maglevInnerSpec.value, false, 'lb4_maglev_inner');
        inner.updateBatch(entries);
        bytes += inner.info().memoryBytes;
      }
      const keys = Buffer.alloc(tables.length * 4);
      const values = Buffer.alloc(tables.length * 4);
      tables.forEach(([id], i) => { keys.writeUInt32LE(id, i * 4); values.writeUInt32LE(fds[i] as number, i * 4); });
      if (tables.length > 0) native().mapUpdateBatch(outer.fd, keys, values, tables.length, UpdateFlags.ANY);
      return bytes;
    } finally {
      for (const fd of fds) native().closeFd(fd);
    }
  }

  /**
   * Writes lb4_port_filter as a control plane keeping it would: every port
   * marked unused except those of the frontends now in lb4_services. Created
   * maps filter nothing (all zero) until this is called.
   */
  setPortFilter(): void {
    const frontends = this.maps.services.entries().map(([k]) => ({ proto: k.proto, port: k.port }));
    this.maps.portFilter.updateBatch(portFilterWords(frontends).map((w, i) => [i, w] as const));
  }

  /**
   * A frontend as the control plane writes it: the lb4_local_backends entries
   * of its backends on this node (config.node_id), its lb4_frontends slot
   * (revnat id = service id), then lb4_services.
   */
  setService(s: ServiceSpec): void {
    const size = s.maglevSize ?? 251;
    const here = this.maps.config.lookup(0)?.nodeId;
    for (const id of new Set(s.backends)) {
      const be = this.maps.backends.lookup(id);
      if (be && be.nodeId === here) this.addLocalBackend({ address: be.address, port: be.port, proto: be.proto, serviceId: s.serviceId, backendId: id });
    }
    if (s.backends.length > 0) this.setMaglev(s.serviceId, Array.from({ length: size }, (_, i) => s.backends[i % s.backends.length] ?? 0));
    this.maps.frontends.update(s.serviceId, { serviceId: s.serviceId, generation: s.frontendGeneration ?? 1, flags: s.flags ?? 0 });
    this.maps.services.update(
      { address: s.vip ?? Addr.vip, port: s.port ?? 80, proto: s.proto ?? Proto.TCP },
      {
        serviceId: s.serviceId, affinityTimeout: s.affinityTimeout ?? 0, backendCount: s.backendCount ?? s.backends.length,
        revnatId: s.serviceId, flags: s.flags ?? 0, kind: 0, internalRevnat: 0, maglevSize: s.backends.length > 0 ? size : 0,
      },
    );
  }

  /** The device MTU the route lookup reports (the test veth's). */
  setDeviceMtu(mtu: number): void {
    sh('ip', ['link', 'set', this.ifname, 'mtu', String(mtu)]);
  }

  /** struct xdp_md for a test run: the frame arrives on the test veth. */
  xdpCtx(frame: Buffer): Buffer {
    const ctx = Buffer.alloc(24); // data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex
    ctx.writeUInt32LE(frame.length, 4);
    ctx.writeUInt32LE(this.ifindex, 12);
    return ctx;
  }

  runXdp(frame: Buffer): RunResult {
    const r = this.xdp.program('xdp_lb').testRun({ data: frame, ctx: this.xdpCtx(frame) });
    return { retval: r.retval, out: r.dataOut, duration: r.duration };
  }

  runTc(frame: Buffer): RunResult {
    const r = this.tc.program('tc_revnat').testRun({ data: frame });
    return { retval: r.retval, out: r.dataOut, duration: r.duration };
  }

  stat(name: StatName): bigint {
    const values = this.maps.stats.lookupPerCpu(dsrlb_stat[`DSRLB_STAT_${name}`]) ?? [];
    return values.reduce((a, b) => a + b, 0n);
  }

  /** Every counter that is not zero, by name. */
  nonZeroStats(): Record<string, number> {
    return nonZero(this.maps.stats);
  }

  /** Every counter of stats_bytes (bytes of forwards) that is not zero, by name. */
  nonZeroStatBytes(): Record<string, number> {
    return nonZero(this.maps.statsBytes);
  }
}

/** A per-CPU map indexed by enum dsrlb_stat: the slots that are not zero, summed over CPUs, by counter name. */
function nonZero(map: BpfMap<number, bigint>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, idx] of Object.entries(dsrlb_stat)) {
    if (key === 'DSRLB_STAT_MAX') continue;
    const v = (map.lookupPerCpu(idx) ?? []).reduce((a, b) => a + b, 0n);
    if (v !== 0n) out[key.replace('DSRLB_STAT_', '')] = Number(v);
  }
  return out;
}

/** A client frame arriving at the LB node's NIC, addressed to the VIP by default. */
export function clientTcp(tcp: Partial<TcpSpec>, ip: Partial<FrameSpec['ip']> = {}): Buffer {
  return buildFrame({
    eth: { src: Mac.router, dst: Mac.nic },
    ip: { src: Addr.client, dst: Addr.vip, id: 0x1234, ...ip },
    tcp: { sport: 40000, dport: 80, seq: 1000, ...tcp },
  });
}

export function clientUdp(udp: Partial<UdpSpec> = {}, ip: Partial<FrameSpec['ip']> = {}): Buffer {
  return buildFrame({
    eth: { src: Mac.router, dst: Mac.nic },
    ip: { src: Addr.client, dst: Addr.vip, id: 0x1234, ...ip },
    udp: { sport: 40000, dport: 53, payload: Buffer.from('query'), ...udp },
  });
}

/** A client segment to the VIP whose IPv4 total length claims 4 bytes more than the frame has: xdp_lb drops it (DROP_TRUNCATED). */
export function truncatedTcp(): Buffer {
  const whole = clientTcp({ flags: { ack: true }, payload: Buffer.from('0123456789') });
  return Buffer.from(whole.subarray(0, whole.length - 4));
}

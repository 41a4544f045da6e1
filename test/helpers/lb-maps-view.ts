/**
 * Reads any LbMaps (in memory or the kernel's) into what the datapath would
 * see, for the reconciler's tests: the make-before-break check, and a view
 * without ids so two runs that assigned ids differently compare equal.
 */
import { DSRLB_BE_F_TERMINATING, DSRLB_LOCAL_ANY } from '../../src/bpf/consts.generated.js';
import { portFilterBit } from '../../src/bpf/port-filter.js';
import type { LbMaps } from '../../src/reconcile/maps/lb-maps.js';
import { slotBackend } from '../../src/reconcile/moved-slots.js';

/** The backend ids in every table of lb4_maglev (as the datapath reads them: without the moved mark), by service id. */
export function readTables(maps: LbMaps): Map<number, Uint32Array> {
  const out = new Map<number, Uint32Array>();
  for (const sid of maps.maglev.keys()) {
    const innerId = maps.maglev.lookup(sid);
    if (innerId === undefined) continue;
    const t = maps.maglev.open(sid, innerId);
    try {
      const elements = maps.maglev.capacity(sid, t);
      out.set(sid, Uint32Array.from(maps.maglev.read(sid, t, elements * 16).slots, slotBackend));
    } finally {
      maps.maglev.close(t);
    }
  }
  return out;
}

function filtered(words: ReadonlyMap<number, bigint>, proto: number, port: number): boolean {
  const { word, bit } = portFilterBit(proto, port);
  return (((words.get(word) ?? 0n) >> BigInt(bit)) & 1n) === 1n;
}

/**
 * What a packet to each live frontend could meet that it must not: no
 * table, a slot index past its table, a slot naming a backend that is not
 * there or is TERMINATING, no revnat entry, a port the filter passes by.
 */
export function makeBeforeBreakProblems(maps: LbMaps): string[] {
  const backends = new Map(maps.backends.scan().live);
  const tables = readTables(maps);
  const words = new Map(maps.portFilter.entries());
  const problems: string[] = [];
  for (const [k, svc] of maps.services.entries()) {
    const key = `${k.address}:${k.port}/${k.proto}`;
    if ((k.proto === 6 || k.proto === 17) && filtered(words, k.proto, k.port)) problems.push(`${key}: port filtered`);
    if (maps.revnat.lookup(svc.revnatId) === undefined) problems.push(`${key}: no revnat ${svc.revnatId}`);
    if (svc.backendCount === 0) continue;
    const table = tables.get(svc.serviceId);
    if (!table) { problems.push(`${key}: no table`); continue; }
    if (svc.maglevSize === 0 || table.length < svc.maglevSize) { problems.push(`${key}: maglev_size ${svc.maglevSize} > table ${table.length}`); continue; }
    for (let i = 0; i < svc.maglevSize; i++) {
      const b = backends.get(table[i] as number);
      if (!b || (b.flags & DSRLB_BE_F_TERMINATING)) { problems.push(`${key}: slot ${i} -> ${table[i]} ${b ? 'terminating' : 'missing'}`); break; }
    }
  }
  return problems;
}

/**
 * Everything the maps program, without ids: frontends with their values,
 * revnat address and table (as backend names per slot); which frontends
 * share a service id; backends; source ranges by the frontends of their
 * service id; nodes; the port filter; lb4_frontends mirroring lb4_services;
 * and no table or revnat entry beyond what the frontends use.
 */
export function programmed(maps: LbMaps): unknown {
  const backends = new Map(maps.backends.scan().live);
  const tables = readTables(maps);
  const services = maps.services.entries().sort(([a], [b]) => (`${a.address}|${a.port}|${a.proto}` < `${b.address}|${b.port}|${b.proto}` ? -1 : 1));
  const frontendsBySid = new Map<number, string[]>();
  const slots = new Map(maps.frontends.scan().live);
  const frontends = services.map(([k, v]) => {
    const key = `${k.address}:${k.port}/${k.proto}`;
    frontendsBySid.set(v.serviceId, [...(frontendsBySid.get(v.serviceId) ?? []), key]);
    const table = tables.get(v.serviceId);
    const slot = slots.get(v.revnatId);
    return {
      key, flags: v.flags, affinityTimeout: v.affinityTimeout, backendCount: v.backendCount, maglevSize: v.maglevSize,
      revnat: maps.revnat.lookup(v.revnatId),
      slot: slot && slot.serviceId === v.serviceId && slot.flags === v.flags ? 'mirrors' : slot,
      table: table && v.maglevSize > 0 ? Array.from(table.subarray(0, v.maglevSize), (id) => {
        const b = backends.get(id);
        return b ? `${b.address}:${b.port}` : `missing ${id}`;
      }).join(',') : null,
    };
  });
  const groupOf = (sid: number): string => (frontendsBySid.get(sid) ?? [`orphan service id ${sid}`]).join('+');
  const usedSids = new Set(services.filter(([, v]) => v.maglevSize > 0).map(([, v]) => v.serviceId));
  return {
    frontends,
    groups: [...frontendsBySid.values()].map((l) => l.join('+')).sort(),
    backends: [...backends.values()].map((b) => `${b.address}|${b.port}|${b.proto}@${b.nodeId}/${b.flags}`).sort(),
    ranges: maps.sourceRanges.keys().map((k) => `${groupOf(k.serviceId)} ${k.address}/${k.prefixlen}`).sort(),
    localBackends: maps.localBackends.entries().map(([k, id]) => {
      const b = backends.get(id);
      return `${k.address}:${k.port}/${k.proto} ${k.serviceId === DSRLB_LOCAL_ANY ? 'any' : groupOf(k.serviceId)} -> ${b ? `${b.address}:${b.port}` : `missing ${id}`}`;
    }).sort(),
    backendFrontends: maps.backendFrontends.entries().map(([k, f]) => `${k.address}:${k.port}/${k.proto} -> ${f.address}:${f.port}`).sort(),
    nodes: maps.nodes.entries().map(([id, n]) => `${id}=${n.address}`).sort(),
    nodeAddrs: maps.nodeAddrs.entries().map(([a, id]) => `${a}=${id}`).sort(),
    portFilter: maps.portFilter.entries().filter(([, w]) => w !== 0n).map(([i, w]) => `${i}:${w.toString(16)}`),
    liveFrontendSlots: slots.size,
    extraTables: [...tables.keys()].filter((sid) => !usedSids.has(sid)).length,
    extraRevnat: maps.revnat.keys().filter((id) => !services.some(([, v]) => v.revnatId === id)).length,
  };
}

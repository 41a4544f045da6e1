/**
 * XDP cannot resolve a neighbour: bpf_fib_lookup only finds what the kernel
 * already has, and a node this one never talked to has no entry, so its
 * packets would fall back to the stack. The agent therefore registers a
 * kernel-managed neighbour entry (NTF_EXT_MANAGED, `ip neigh ... managed`)
 * for the next hop towards every other node: the kernel resolves it and keeps
 * it fresh on its own. Entries the agent added are removed when their node goes.
 * They carry dsrlb's neighbour protocol (NDA_PROTOCOL, `ip neigh ... proto
 * 213`), which is how a later agent and `dsrlb-agent cleanup` tell them from
 * anybody else's, managed or not.
 */
import { execFileSync } from 'node:child_process';

export interface NextHop { readonly address: string; readonly dev: string }

interface RouteGet { dst?: string; gateway?: string; dev?: string; type?: string }

/** `ip -j -batch` prints one JSON array per command; a failed lookup prints none. */
export function parseRouteGets(output: string): NextHop[] {
  const hops: NextHop[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('[')) continue;
    for (const r of JSON.parse(line) as RouteGet[]) {
      if (r.dev && r.dev !== 'lo' && r.type !== 'local' && (r.gateway ?? r.dst)) hops.push({ address: r.gateway ?? r.dst ?? '', dev: r.dev });
    }
  }
  return hops;
}

/** The NDA_PROTOCOL value on every neighbour entry dsrlb adds (no routing daemon uses it: rtnetlink.h's RTPROT_* and /etc/iproute2/rt_protos). */
export const NEIGH_PROTOCOL = 213;

interface NeighShow { dst?: string; dev?: string; protocol?: string | number }

/** `ip -N -j neigh show proto N` output: the entries carrying our protocol. */
export function parseOurNeighbours(output: string): NextHop[] {
  const out: NextHop[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('[')) continue;
    for (const n of JSON.parse(line) as NeighShow[]) {
      if (n.dst && n.dev && String(n.protocol) === String(NEIGH_PROTOCOL)) out.push({ address: n.dst, dev: n.dev });
    }
  }
  return out;
}

export type IpBatch = (commands: readonly string[], json: boolean) => string;

/** Runs `ip -N [-j] -batch -` and returns stdout; failed lines are skipped (`-force`); protocols print as numbers (-N). */
export const runIpBatch: IpBatch = (commands, json) => execFileSync('ip', ['-N', ...(json ? ['-j'] : []), '-force', '-batch', '-'], {
  input: `${commands.join('\n')}\n`, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'],
});

const key = (h: NextHop): string => `${h.address}%${h.dev}`;

const LIST_OURS = `neigh show proto ${NEIGH_PROTOCOL}`;
const deleteCommand = (h: NextHop): string => `neigh del ${h.address} dev ${h.dev}`;

/** `dsrlb-agent cleanup`: deletes every neighbour entry dsrlb added in this network namespace; returns them. */
export function removeOurNeighbours(ip: IpBatch = runIpBatch): NextHop[] {
  const ours = parseOurNeighbours(ip([LIST_OURS], true));
  if (ours.length) ip(ours.map(deleteCommand), false);
  return ours;
}

export class NodeNeighbours {
  /** Undefined until the first sync takes over what a previous agent left. */
  private managed: Map<string, NextHop> | undefined;

  constructor(private readonly ip: IpBatch = runIpBatch) {}

  /** Makes the managed entries match the next hops towards `nodeAddresses`; returns what it added and removed. */
  sync(nodeAddresses: Iterable<string>): { added: number; removed: number } {
    // A previous agent's entries are ours too: those towards nodes that went are removed below.
    const managed = this.managed ?? new Map(parseOurNeighbours(this.ip([LIST_OURS], true)).map((h) => [key(h), h]));
    const addresses = [...new Set(nodeAddresses)];
    const hops = addresses.length ? parseRouteGets(this.ip(addresses.map((a) => `route get ${a}`), true)) : [];
    const wanted = new Map(hops.map((h) => [key(h), h]));
    const add = [...wanted].filter(([k]) => !managed.has(k)).map(([, h]) => h);
    const remove = [...managed].filter(([k]) => !wanted.has(k)).map(([, h]) => h);
    const commands = [
      ...add.map((h) => `neigh replace ${h.address} dev ${h.dev} managed extern_learn proto ${NEIGH_PROTOCOL}`),
      ...remove.map(deleteCommand),
    ];
    if (commands.length) this.ip(commands, false);
    this.managed = wanted;
    return { added: add.length, removed: remove.length };
  }

  /** Leaves the entries in place on purpose: the datapath keeps serving after the agent stops. */
  get size(): number {
    return this.managed?.size ?? 0;
  }
}

/**
 * XDP cannot resolve a neighbour: bpf_fib_lookup only finds what the kernel
 * already has, and a node this one never talked to has no entry, so its
 * packets would fall back to the stack. The agent therefore registers a
 * kernel-managed neighbour entry (NTF_EXT_MANAGED, `ip neigh ... managed`)
 * for the next hop towards every other node: the kernel resolves it and keeps
 * it fresh on its own. Entries the agent added are removed when their node goes.
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

export type IpBatch = (commands: readonly string[], json: boolean) => string;

/** Runs `ip [-j] -batch -` and returns stdout; failed lines are skipped (`-force`). */
export const runIpBatch: IpBatch = (commands, json) => execFileSync('ip', [...(json ? ['-j'] : []), '-force', '-batch', '-'], {
  input: `${commands.join('\n')}\n`, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'],
});

const key = (h: NextHop): string => `${h.address}%${h.dev}`;

export class NodeNeighbours {
  private managed = new Map<string, NextHop>();

  constructor(private readonly ip: IpBatch = runIpBatch) {}

  /** Makes the managed entries match the next hops towards `nodeAddresses`; returns what it added and removed. */
  sync(nodeAddresses: Iterable<string>): { added: number; removed: number } {
    const addresses = [...new Set(nodeAddresses)];
    const hops = addresses.length ? parseRouteGets(this.ip(addresses.map((a) => `route get ${a}`), true)) : [];
    const wanted = new Map(hops.map((h) => [key(h), h]));
    const add = [...wanted].filter(([k]) => !this.managed.has(k)).map(([, h]) => h);
    const remove = [...this.managed].filter(([k]) => !wanted.has(k)).map(([, h]) => h);
    const commands = [
      ...add.map((h) => `neigh replace ${h.address} dev ${h.dev} managed extern_learn`),
      ...remove.map((h) => `neigh del ${h.address} dev ${h.dev}`),
    ];
    if (commands.length) this.ip(commands, false);
    this.managed = wanted;
    return { added: add.length, removed: remove.length };
  }

  /** Leaves the entries in place on purpose: the datapath keeps serving after the agent stops. */
  get size(): number {
    return this.managed.size;
  }
}

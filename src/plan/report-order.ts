/**
 * The plan cache's report: the parts' contributions in report order, kept as
 * copy-on-write chunks so that each update copies only the chunks it touches,
 * and snapshots over them whose arrays are built on first access. This is what
 * keeps an update's cost independent of the number of Services.
 */
import { comparePart, NONE, type Assembled, type Part } from './cache-part.js';
import type { Frontend, HealthCheckNodePort, Plan, PlanReport, PlanWarning } from './types.js';

/**
 * The parts' contributions in report order, as a copy-on-write list of
 * chunks: after freeze() (a snapshot now holds the chunks), an update copies
 * only the chunks it touches and the short outer list, not all N entries.
 */
export class ReportOrder {
  private chunks: Assembled[][] = [];
  /** Chunk arrays made since the last freeze(): free to change in place. */
  private readonly fresh = new Set<Assembled[]>();
  private outerFresh = true;

  /** @param chunk entries per chunk (a chunk splits at twice that) */
  constructor(private readonly chunk: number) {}

  static from(sorted: readonly Assembled[], chunk: number): ReportOrder {
    const o = new ReportOrder(chunk);
    for (let i = 0; i < sorted.length; i += chunk) o.chunks.push(sorted.slice(i, i + chunk));
    return o;
  }

  /** The current chunks, never changed again (later changes copy them). */
  freeze(): readonly (readonly Assembled[])[] {
    this.fresh.clear();
    this.outerFresh = false;
    return this.chunks;
  }

  /** Replaces the entry of the part with the same sort key. */
  replace(a: Assembled): void {
    const [ci, i] = this.find(a.part);
    this.own(ci)[i] = a;
  }

  insert(a: Assembled): void {
    if (this.chunks.length === 0) {
      this.ownOuter();
      const c = [a];
      this.fresh.add(c);
      this.chunks.push(c);
      return;
    }
    const [ci, i] = this.locate(a.part);
    const c = this.own(ci);
    c.splice(i, 0, a);
    if (c.length > 2 * this.chunk) {
      const right = c.splice(this.chunk);
      this.fresh.add(right);
      this.chunks.splice(ci + 1, 0, right);
    }
  }

  remove(part: Part): void {
    const [ci, i] = this.find(part);
    const c = this.own(ci);
    c.splice(i, 1);
    if (c.length === 0) this.chunks.splice(ci, 1);
  }

  /** The accepted frontends of the parts named `service`, in order. */
  frontendsOf(service: string): readonly Frontend[] {
    if (this.chunks.length === 0) return NONE;
    let [ci, i] = this.locate({ key: '', identity: '', plan: { service, frontends: NONE, healthCheckNodePort: null, warnings: NONE }, fkeys: NONE });
    let out: readonly Frontend[] = NONE;
    let copied = false;
    for (; ci < this.chunks.length; ci++, i = 0) {
      const c = this.chunks[ci] as Assembled[];
      for (; i < c.length; i++) {
        const a = c[i] as Assembled;
        if (a.part.plan.service !== service) return out;
        if (out.length === 0) {
          out = a.frontends; // the usual case: one part, its own array
        } else if (a.frontends.length > 0) {
          if (!copied) {
            out = [...out];
            copied = true;
          }
          (out as Frontend[]).push(...a.frontends);
        }
      }
    }
    return out;
  }

  /** Where `part` is; throws when it is not there (a bug). */
  private find(part: Part): [number, number] {
    const at = this.locate(part);
    if ((this.chunks[at[0]]?.[at[1]])?.part.key !== part.key) throw new Error(`plan cache: ${part.key} is not where it should be`);
    return at;
  }

  /** The first position whose part does not sort before `part` (the end of the last chunk if none). */
  private locate(part: Part): [number, number] {
    const chunks = this.chunks;
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = chunks[mid] as Assembled[];
      if (comparePart((c[c.length - 1] as Assembled).part, part) < 0) lo = mid + 1;
      else hi = mid;
    }
    const c = chunks[lo] as Assembled[];
    let a = 0;
    let b = c.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (comparePart((c[mid] as Assembled).part, part) < 0) a = mid + 1;
      else b = mid;
    }
    return [lo, a];
  }

  private own(ci: number): Assembled[] {
    const c = this.chunks[ci] as Assembled[];
    if (this.fresh.has(c)) return c;
    this.ownOuter();
    const copy = c.slice();
    this.fresh.add(copy);
    this.chunks[ci] = copy;
    return copy;
  }

  private ownOuter(): void {
    if (this.outerFresh) return;
    this.chunks = this.chunks.slice();
    this.outerFresh = true;
  }
}

/** A report over fixed contributions; its arrays are built on first access. */
export function snapshot(chunks: readonly (readonly Assembled[])[]): PlanReport {
  let frontends: Frontend[] | undefined;
  let ports: HealthCheckNodePort[] | undefined;
  let warnings: PlanWarning[] | undefined;
  const plan: Plan = {
    get frontends(): readonly Frontend[] {
      if (!frontends) {
        frontends = [];
        for (const c of chunks) for (const a of c) for (const f of a.frontends) frontends.push(f);
      }
      return frontends;
    },
    get healthCheckNodePorts(): readonly HealthCheckNodePort[] {
      if (!ports) {
        ports = [];
        for (const c of chunks) for (const a of c) if (a.healthCheckNodePort) ports.push(a.healthCheckNodePort);
      }
      return ports;
    },
  };
  return {
    plan,
    get warnings(): readonly PlanWarning[] {
      if (!warnings) {
        warnings = [];
        for (const c of chunks) for (const a of c) for (const w of a.warnings) warnings.push(w);
      }
      return warnings;
    },
  };
}

/**
 * The moved mark of a current Maglev table (DSRLB_MAGLEV_F_MOVED, docs/datapath.md
 * "Stateless LB node"): a slot is marked when some flow hashing into it finds
 * another backend in the service's previous table. The datapath looks the
 * previous table up only for marked slots, so the flows of slots a change
 * left alone (all but about 1/N of them) pay nothing for the second chance.
 * Pure.
 */
import { DSRLB_BACKEND_ID_NONE, DSRLB_MAGLEV_F_MOVED, DSRLB_MAGLEV_ID_MASK } from '../bpf/consts.generated.js';

/** The backend id in a table slot, without the mark. */
export function slotBackend(entry: number): number {
  return entry & DSRLB_MAGLEV_ID_MASK;
}

/**
 * Marks the slots of `current` (M slots) whose flows may meet another live
 * backend id in `previous` (P slots): a hash h lands in slot h % M of one and
 * h % P of the other. Table sizes are 1021 x 2^k, so one divides the other:
 * when P divides M, slot s meets previous slot s % P; when M divides P, it
 * meets s, s + M, s + 2M... of the previous table. Sizes that do not divide
 * (hand-made tables) mark every slot the previous table could differ on: the
 * datapath then looks it up, as it would without marks. Returns how many
 * slots are marked.
 */
export function markMoved(current: Uint32Array, previous: ArrayLike<number>): number {
  const m = current.length;
  const p = previous.length;
  let marked = 0;
  for (let s = 0; s < m; s++) {
    const id = slotBackend(current[s] as number);
    let moved = false;
    if (p === 0) moved = false;
    else if (m % p === 0) moved = differs(previous[s % p] as number, id);
    else if (p % m === 0) for (let q = s; q < p && !moved; q += m) moved = differs(previous[q] as number, id);
    else moved = true;
    current[s] = moved ? id | DSRLB_MAGLEV_F_MOVED : id;
    if (moved) marked++;
  }
  return marked;
}

function differs(previousEntry: number, id: number): boolean {
  const prev = slotBackend(previousEntry);
  return prev !== DSRLB_BACKEND_ID_NONE && prev !== id;
}

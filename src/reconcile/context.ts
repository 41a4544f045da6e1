/** What every step of a sync works on: the maps, what they hold, the ids, what was applied. */
import type { AppliedServices } from './applied.js';
import type { Adopted, MapsHeld } from './held.js';
import type { ReconcileIds } from './ids.js';
import type { MaglevTableBuilder } from './maglev-builder.js';
import type { LbMaps } from './maps/lb-maps.js';

export interface ReconcileContext {
  readonly maps: LbMaps;
  /** --maglev-table-size. */
  readonly maxSize: number;
  /** How long a backend that left the plan stays TERMINATING. */
  readonly graceMs: number;
  /** Builds the Maglev tables of a sync (on a worker thread once one runs). */
  readonly tableBuilder: MaglevTableBuilder;
  // Replaced whenever the maps are read back (adoptMaps).
  held: MapsHeld;
  ids: ReconcileIds;
  applied: AppliedServices;
  /** Set by an adoption: the next sync also removes what no service wants. */
  adopted: Adopted | null;
  /** This node's id, from the last sync() (backends with it are local). */
  localNodeId: number;
  /** A frontend now leads to another service id: flows verified before must be verified again. */
  frontendMoved: boolean;
  /** --revnat-fallback unique-frontend (backend-frontends.ts). */
  readonly revnatFallback: boolean;
}

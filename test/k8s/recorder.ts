/** Starts a source and records every hand-over (copied) and every error, for assertions. */
import type { ExecutionContext } from 'ava';
import { cloneState } from '../../src/k8s/cluster-store.js';
import type { Source, SourceError, StateChange } from '../../src/k8s/source.js';
import type { ClusterState } from '../../src/api/types.js';

export interface Recording {
  /** Every state handed over, copied. */
  readonly states: ClusterState[];
  readonly changes: StateChange[];
  readonly errors: SourceError[];
  latest(): ClusterState;
}

export async function record(t: ExecutionContext, source: Source, waitSync = true): Promise<Recording> {
  const states: ClusterState[] = [];
  const changes: StateChange[] = [];
  const errors: SourceError[] = [];
  source.onError((e) => errors.push(e));
  source.start((state, change) => {
    states.push(cloneState(state));
    changes.push(change);
  });
  t.teardown(() => source.stop());
  if (waitSync) await source.whenSynced(15_000);
  return {
    states, changes, errors,
    latest: () => {
      const s = states.at(-1);
      if (!s) throw new Error('no state handed over yet');
      return s;
    },
  };
}

/**
 * The equality functions (src/reconcile/equality.ts) compare every field of
 * what they compare, except the ones NOT_COMPARED lists: each key of a sample
 * (enumerated at run time, so a field added to the type is covered as soon
 * as the sample has it, which the compiler demands) is changed in turn and
 * must make the two unequal.
 */
import test from 'ava';
import type { Lb4Backend, Lb4Frontend, Lb4Revnat, Lb4Service } from '../../src/bpf/codecs/services.js';
import { backendKey, frontendKey } from '../../src/model/keys.js';
import type { Backend } from '../../src/plan/types.js';
import type { DesiredBackend, DesiredFrontend, DesiredGroup, ServiceDesired, SourceRange } from '../../src/reconcile/desired-types.js';
import {
  NOT_COMPARED, sameBackend, sameDesiredBackend, sameDesiredFrontend, sameDesiredGroup, sameFrontendSlot, samePlanBackend, sameRevnat,
  sameService, sameServiceDesired, sameSourceRange,
} from '../../src/reconcile/equality.js';

/** A value of another kind than `v`, or a different one of the same kind. */
function other(v: unknown): unknown {
  if (typeof v === 'number') return v + 1;
  if (typeof v === 'string') return `${v}x`;
  if (typeof v === 'boolean') return !v;
  if (v === null) return 'x';
  if (Array.isArray(v)) return [...v, v[0]];
  return { ...(v as object), changed: true };
}

function everyFieldCompared<T extends object>(t: import('ava').ExecutionContext, name: string, sample: T, same: (a: T, b: T) => boolean,
  skip: readonly string[] = []): void {
  t.true(same(sample, { ...sample }), `${name}: equal to a copy`);
  for (const key of Object.keys(sample)) {
    if (skip.includes(key)) {
      t.true(same(sample, { ...sample, [key]: other((sample as Record<string, unknown>)[key]) }), `${name}.${key} is listed as not compared`);
      continue;
    }
    t.false(same(sample, { ...sample, [key]: other((sample as Record<string, unknown>)[key]) }), `${name}.${key} is not compared`);
  }
}

const service: Lb4Service = { serviceId: 1, affinityTimeout: 300, backendCount: 2, revnatId: 3, flags: 1, kind: 1, internalRevnat: 4, maglevSize: 251 };
const backend: Lb4Backend = { address: '198.18.2.10', port: 8080, proto: 6, flags: 2, nodeId: 7, generation: 4 };
const revnat: Lb4Revnat = { address: '203.0.113.10', port: 80 };
const slot: Lb4Frontend = { serviceId: 1, generation: 2, flags: 1 };
const planBackend: Backend = { address: '198.18.2.10', port: 8080, nodeName: 'node-b', terminating: false };
const desiredBackend: DesiredBackend = {
  key: backendKey('198.18.2.10', 8080, 6), name: '198.18.2.10:8080', address: '198.18.2.10', port: 8080, proto: 6, nodeId: 7,
};
const range: SourceRange = { address: '192.0.2.0', prefixLength: 24 };
const group: DesiredGroup = { key: 'default/web|http|TCP|IPv4|Cluster', backends: [desiredBackend], maglevSize: 251, sourceRanges: [range] };
const frontend: DesiredFrontend = {
  key: frontendKey('198.51.100.1', 30080, 6), lbKey: { address: '198.51.100.1', port: 30080, proto: 6 }, groupKey: group.key, kind: 'NodePort',
  flags: 1, affinityTimeout: 300, backendCount: 1, internalFrontend: frontendKey('10.96.0.10', 80, 6),
};
const desired: ServiceDesired = { service: 'default/web', frontends: [frontend], groups: [group], warnings: [] };

test('map values: every field compared but the generation of a slot', (t) => {
  everyFieldCompared(t, 'lb4_service', service, sameService);
  everyFieldCompared(t, 'lb4_backend', backend, sameBackend, NOT_COMPARED.lb4Backend);
  everyFieldCompared(t, 'lb4_revnat', revnat, sameRevnat);
  everyFieldCompared(t, 'lb4_frontend', slot, sameFrontendSlot, NOT_COMPARED.lb4Frontend);
});

test('desired state: every field compared but those that follow from the key', (t) => {
  everyFieldCompared(t, 'plan Backend', planBackend, samePlanBackend, NOT_COMPARED.planBackend);
  everyFieldCompared(t, 'DesiredBackend', desiredBackend, sameDesiredBackend, NOT_COMPARED.desiredBackend);
  everyFieldCompared(t, 'SourceRange', range, sameSourceRange);
  everyFieldCompared(t, 'DesiredFrontend', frontend, sameDesiredFrontend, NOT_COMPARED.desiredFrontend);
  everyFieldCompared(t, 'DesiredGroup', group, sameDesiredGroup);
});

test('a service\'s desired state: every frontend and group field reaches the comparison; warnings and the name do not', (t) => {
  for (const key of Object.keys(frontend)) {
    if ((NOT_COMPARED.desiredFrontend as readonly string[]).includes(key)) continue;
    const changed = { ...desired, frontends: [{ ...frontend, [key]: other((frontend as unknown as Record<string, unknown>)[key]) }] };
    t.false(sameServiceDesired(desired, changed), `frontend.${key}`);
  }
  for (const key of Object.keys(group)) {
    const changed = { ...desired, groups: [{ ...group, [key]: other((group as unknown as Record<string, unknown>)[key]) }] };
    t.false(sameServiceDesired(desired, changed), `group.${key}`);
  }
  t.true(sameServiceDesired(desired, { ...desired, warnings: [{ service: 'default/web', message: 'x' }] }));
});

/** The agent's health verdict, the pin comparison and the lock holder lookup: pure parts. */
import test from 'ava';
import { healthBody, unhealthyCause } from '../../src/agent/health-server.js';
import { flockHolder } from '../../src/agent/lock.js';
import { pinsDiffer } from '../../src/agent/pins.js';

test('healthy only when synced, attached, with good pins; otherwise the cause, most serious first', (t) => {
  t.is(unhealthyCause({ lastSyncedAt: 1, attached: true }), undefined);
  t.is(unhealthyCause({}), "no complete sync yet: waiting for the source's first complete state");
  t.is(unhealthyCause({ waitingFor: 'the source has not delivered a complete state: list failed' }),
    'no complete sync yet: the source has not delivered a complete state: list failed');
  t.is(unhealthyCause({ lastSyncedAt: 1, attached: false }), 'the programs are not attached');
  t.is(unhealthyCause({ lastSyncedAt: 1, attached: true, lastError: 'no free revnat id' }), 'no free revnat id');
  t.is(unhealthyCause({ lastSyncedAt: 1, attached: true, lastError: 'x', pinsProblem: 'pins' }), 'pins');
  t.is(unhealthyCause({ lastSyncedAt: 1, attached: true, rejected: [{ service: 'a/b', frontends: 1, keptPrevious: false, reason: 'full' }] }), undefined,
    'Services left out for want of room are reported, not a health failure');
});

test('the /healthz body: the cause in lastError exactly when unhealthy, with version, source and what is programmed', (t) => {
  const context = { version: '0.1.0', source: () => undefined, programmed: () => ({ services: 2, frontends: 5 }) };
  const now = Date.parse('2026-01-01T00:00:10Z');
  const sick = healthBody({ waitingFor: 'the source has not delivered a complete state: list failed' }, context, now);
  t.false(sick.healthy);
  t.like(sick.body, { healthy: false, lastError: 'no complete sync yet: the source has not delivered a complete state: list failed', version: '0.1.0',
    source: null, lastSyncedAt: null, currentTime: '2026-01-01T00:00:10.000Z', attached: false });
  const well = healthBody({ lastSyncedAt: now - 1000, attached: true }, context, now);
  t.true(well.healthy);
  t.like(well.body, { healthy: true, lastError: null, programmed: { services: 2, frontends: 5 }, lastSyncedAt: '2026-01-01T00:00:09.000Z', attached: true });
});

test('pins that vanished or name other maps are named', (t) => {
  const expected = new Map<string, number | null>([['lb4_services', 10], ['lb4_backends', 11], ['config', 12]]);
  t.is(pinsDiffer(expected, new Map(expected)), undefined);
  const line = pinsDiffer(expected, new Map([['lb4_services', 10], ['lb4_backends', null], ['config', 99]]));
  t.is(line, 'the maps this agent writes are no longer the pinned ones (unpinned: lb4_backends; replaced by other maps: config); '
    + 'restart the agent to re-create and fill them');
});

test('the flock holder is read from /proc/locks by device and inode', (t) => {
  const locks = [
    '1: POSIX  ADVISORY  WRITE 77 00:1f:4242 0 EOF',
    '2: FLOCK  ADVISORY  WRITE 1234 00:2a:4242 0 EOF',
    '3: FLOCK  ADVISORY  WRITE 5678 fd:01:999 0 EOF',
  ].join('\n');
  t.is(flockHolder(locks, { major: 0, minor: 0x2a }, 4242n), 1234);
  t.is(flockHolder(locks, { major: 0xfd, minor: 1 }, 999n), 5678);
  t.is(flockHolder(locks, { major: 0, minor: 0x1f }, 4242n), null, 'a POSIX lock is not ours');
  t.is(flockHolder(locks, { major: 0, minor: 0x2a }, 1n), null);
});

/** Managed neighbour entries follow the set of node next hops. */
import test from 'ava';
import { NEIGH_PROTOCOL, NodeNeighbours, parseOurNeighbours, parseRouteGets, removeOurNeighbours, type IpBatch } from '../../src/agent/neighbours.js';

test('route lookups give the gateway when there is one, the node itself otherwise, never local routes', (t) => {
  const out = [
    '[{"dst":"198.51.100.2","dev":"eth0","prefsrc":"198.51.100.1","flags":[]}]',
    '[{"dst":"10.9.1.1","gateway":"198.51.100.254","dev":"eth0","prefsrc":"198.51.100.1"}]',
    '[{"type":"local","dst":"198.51.100.1","dev":"lo"}]',
    '',
  ].join('\n');
  t.deepEqual(parseRouteGets(out), [{ address: '198.51.100.2', dev: 'eth0' }, { address: '198.51.100.254', dev: 'eth0' }]);
});

/** A stand-in for `ip -batch`: route lookups from `routes`, `neigh show proto` from `ours`; every call recorded. */
function fakeIp(routes: Record<string, string>, ours: string): { ip: IpBatch; calls: string[][] } {
  const calls: string[][] = [];
  const ip: IpBatch = (commands, json) => {
    calls.push([...commands]);
    if (!json) return '';
    return commands.map((c) => (c.startsWith('neigh show') ? ours : `[${routes[c.replace('route get ', '')] ?? ''}]`)).join('\n');
  };
  return { ip, calls };
}

test('sync adds entries for new next hops with dsrlb\'s protocol, removes those whose node went, and does nothing when nothing changed', (t) => {
  const { ip, calls } = fakeIp({
    '198.51.100.2': '{"dst":"198.51.100.2","dev":"eth0"}',
    '198.51.100.3': '{"dst":"198.51.100.3","dev":"eth0"}',
  }, '[]');
  const nn = new NodeNeighbours(ip);
  t.deepEqual(nn.sync(['198.51.100.2', '198.51.100.3']), { added: 2, removed: 0 });
  t.deepEqual(calls[0], [`neigh show proto ${NEIGH_PROTOCOL}`], 'the first sync looks for a previous agent\'s entries');
  t.deepEqual(calls[2], ['neigh replace 198.51.100.2 dev eth0 managed extern_learn proto 213', 'neigh replace 198.51.100.3 dev eth0 managed extern_learn proto 213']);
  calls.length = 0;
  t.deepEqual(nn.sync(['198.51.100.2', '198.51.100.3']), { added: 0, removed: 0 });
  t.is(calls.length, 1, 'only the route lookups');
  t.deepEqual(nn.sync(['198.51.100.2']), { added: 0, removed: 1 });
  t.deepEqual(calls.at(-1), ['neigh del 198.51.100.3 dev eth0']);
});

test('a previous agent\'s entries are taken over: kept when still wanted, removed when their node went', (t) => {
  const { ip, calls } = fakeIp({ '198.51.100.2': '{"dst":"198.51.100.2","dev":"eth0"}' },
    '[{"dst":"198.51.100.2","dev":"eth0","protocol":"213"},{"dst":"198.51.100.9","dev":"eth0","protocol":"213"}]');
  const nn = new NodeNeighbours(ip);
  t.deepEqual(nn.sync(['198.51.100.2']), { added: 0, removed: 1 });
  t.deepEqual(calls.at(-1), ['neigh del 198.51.100.9 dev eth0']);
  t.is(nn.size, 1);
});

test('only entries with dsrlb\'s protocol are ours: cleanup removes those and nothing else', (t) => {
  const shown = '[{"dst":"198.51.100.2","dev":"eth0","managed":null,"extern_learn":null,"protocol":"213"},'
    + '{"dst":"198.51.100.3","dev":"eth0","managed":null,"extern_learn":null},'
    + '{"dst":"198.51.100.4","dev":"eth1","protocol":"186"}]';
  t.deepEqual(parseOurNeighbours(shown), [{ address: '198.51.100.2', dev: 'eth0' }]);
  const { ip, calls } = fakeIp({}, shown);
  t.deepEqual(removeOurNeighbours(ip), [{ address: '198.51.100.2', dev: 'eth0' }]);
  t.deepEqual(calls.at(-1), ['neigh del 198.51.100.2 dev eth0']);
  const none = fakeIp({}, '[]');
  t.deepEqual(removeOurNeighbours(none.ip), []);
  t.is(none.calls.length, 1, 'nothing to delete: only the listing');
});

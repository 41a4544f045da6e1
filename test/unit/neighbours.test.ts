/** Managed neighbour entries follow the set of node next hops. */
import test from 'ava';
import { NodeNeighbours, parseRouteGets } from '../../src/agent/neighbours.js';

test('route lookups give the gateway when there is one, the node itself otherwise, never local routes', (t) => {
  const out = [
    '[{"dst":"198.51.100.2","dev":"eth0","prefsrc":"198.51.100.1","flags":[]}]',
    '[{"dst":"10.9.1.1","gateway":"198.51.100.254","dev":"eth0","prefsrc":"198.51.100.1"}]',
    '[{"type":"local","dst":"198.51.100.1","dev":"lo"}]',
    '',
  ].join('\n');
  t.deepEqual(parseRouteGets(out), [{ address: '198.51.100.2', dev: 'eth0' }, { address: '198.51.100.254', dev: 'eth0' }]);
});

test('sync adds entries for new next hops, removes those whose node went, and does nothing when nothing changed', (t) => {
  const calls: string[][] = [];
  const routes: Record<string, string> = {
    '198.51.100.2': '{"dst":"198.51.100.2","dev":"eth0"}',
    '198.51.100.3': '{"dst":"198.51.100.3","dev":"eth0"}',
  };
  const nn = new NodeNeighbours((commands, json) => {
    calls.push([...commands]);
    return json ? commands.map((c) => `[${routes[c.replace('route get ', '')] ?? ''}]`).join('\n') : '';
  });
  t.deepEqual(nn.sync(['198.51.100.2', '198.51.100.3']), { added: 2, removed: 0 });
  t.deepEqual(calls[1], ['neigh replace 198.51.100.2 dev eth0 managed extern_learn', 'neigh replace 198.51.100.3 dev eth0 managed extern_learn']);
  calls.length = 0;
  t.deepEqual(nn.sync(['198.51.100.2', '198.51.100.3']), { added: 0, removed: 0 });
  t.is(calls.length, 1, 'only the route lookups');
  t.deepEqual(nn.sync(['198.51.100.2']), { added: 0, removed: 1 });
  t.deepEqual(calls.at(-1), ['neigh del 198.51.100.3 dev eth0']);
});

/**
 * `lbctl bpf stats`: JSON keeps its counter -> packets fields and gains
 * `bytes` (forward counters only); the table shows bytes beside forwards.
 */
import test from 'ava';
import { statsJson, statsRows } from '../../src/cli/stats-view.js';

const packets = { pass_not_service: 4, tx_encap: 2, pass_local: 1, drop_no_backend: 3, sock_xlate: 5 };
const bytes = { pass_not_service: 0, tx_encap: 212, pass_local: 74, drop_no_backend: 0, sock_xlate: 0 };

test('JSON: every counter as before, and bytes for the forward counters only', (t) => {
  t.deepEqual(statsJson(packets, bytes), { ...packets, bytes: { tx_encap: 212, pass_local: 74 } });
});

test('a datapath without stats_bytes: the JSON of before, and no bytes in the table', (t) => {
  t.deepEqual(statsJson(packets, undefined), packets);
  t.true(statsRows(packets, undefined).every((r) => r[2] === '-'));
});

test('the table: packets of every counter, bytes beside forwards', (t) => {
  t.deepEqual(statsRows(packets, bytes), [
    ['pass_not_service', '4', '-'], ['tx_encap', '2', '212'], ['pass_local', '1', '74'], ['drop_no_backend', '3', '-'], ['sock_xlate', '5', '-'],
  ]);
});

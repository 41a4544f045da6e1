/**
 * IPv4 parsing by hand (the plan and validation read every endpoint
 * address): the API server's rule (dotted quad, no leading zeros), the
 * canonical text, and sort keys that order addresses numerically.
 */
import test from 'ava';
import { compareIps, ipFamilyOf, ipv4Value, parseCidr, parseIp } from '../../src/plan/ip.js';
import { seededRandom } from '../helpers/rng.js';

/** The rule written the obvious way. */
function reference(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(?:0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return -1;
  return parts.reduce((v, p) => v * 256 + Number(p), 0);
}

const valid: [string, number][] = [
  ['0.0.0.0', 0], ['255.255.255.255', 0xffffffff], ['10.96.0.10', 0x0a60000a], ['198.18.0.1', 0xc6120001], ['1.2.3.4', 0x01020304],
];
const invalid = [
  '', '1.2.3', '1.2.3.4.5', '1.2.3.', '.1.2.3', '1..2.3', '01.2.3.4', '1.2.3.04', '1.2.3.00', '256.1.1.1', '1.2.3.1000',
  ' 1.2.3.4', '1.2.3.4 ', '1.2.3.a', '1.2.3.4/32', '+1.2.3.4', '1.2.3.-4', '1111.2.3.4', '1.2.3.4.', '::1',
];

test('dotted quads parse to their value', (t) => {
  for (const [text, value] of valid) t.is(ipv4Value(text), value, text);
});

test('anything else is refused: parts, leading zeros, ranges, stray characters', (t) => {
  for (const text of invalid) t.is(ipv4Value(text), -1, JSON.stringify(text));
});

test('agrees with the rule written the obvious way on random strings', (t) => {
  const random = seededRandom(11);
  const alphabet = '0123456789.. a';
  for (let k = 0; k < 20000; k++) {
    const len = 1 + Math.floor(random() * 16);
    let text = '';
    for (let i = 0; i < len; i++) text += alphabet[Math.floor(random() * alphabet.length)];
    t.is(ipv4Value(text), reference(text), JSON.stringify(text));
  }
});

test('parseIp: family, canonical text, and sort keys in numeric order, IPv4 before IPv6', (t) => {
  t.like(parseIp('10.96.0.10'), { family: 'IPv4', address: '10.96.0.10', sortKey: '40a60000a' });
  t.like(parseIp('::ffff:10.96.0.10'), { family: 'IPv4', address: '10.96.0.10' });
  t.like(parseIp('2001:DB8::1'), { family: 'IPv6', address: '2001:db8::1' });
  t.is(parseIp('10.96.0.010'), null);
  const sorted = ['10.0.0.9', '9.255.255.255', '10.0.0.10', '2001:db8::1', '255.0.0.0', '0.0.0.0'].sort(compareIps);
  t.deepEqual(sorted, ['0.0.0.0', '9.255.255.255', '10.0.0.9', '10.0.0.10', '255.0.0.0', '2001:db8::1']);
});

test('ipFamilyOf and parseCidr use the same rule', (t) => {
  t.is(ipFamilyOf('198.18.0.1'), 'IPv4');
  t.is(ipFamilyOf('198.18.0.01'), null);
  t.is(ipFamilyOf('fd00::1'), 'IPv6');
  t.is(ipFamilyOf('x'), null);
  t.deepEqual(parseCidr('10.1.2.3/8'), { family: 'IPv4', cidr: '10.0.0.0/8' });
  t.is(parseCidr('10.01.2.3/8'), null);
});

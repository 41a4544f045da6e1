/**
 * The one IP parser of src/ (src/net/ip.ts), by hand for IPv4 (the plan and
 * validation read every endpoint address): the API server's rule (dotted
 * quad, no leading zeros), the canonical text, sort keys that order
 * addresses numerically, CIDRs; and the places that parse an address
 * (codecs, agent flags, validation) all follow that one rule.
 */
import test from 'ava';
import ipaddr from 'ipaddr.js';
import { parseAgentConfig } from '../../src/agent/config.js';
import { ipv4 } from '../../src/bpf/codec.js';
import {
  compareCidrs, compareIps, formatIpv4, ipFamilyOf, ipv4Value, parseCidr, parseCidrSloppy, parseIp, parseIpSloppy, parseIpv4Cidr,
} from '../../src/net/ip.js';
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

/** 20,000 seeded random strings of 1 to `maxLength` characters of `alphabet`. */
function* randomStrings(seed: number, alphabet: string, maxLength: number): Generator<string> {
  const random = seededRandom(seed);
  for (let k = 0; k < 20000; k++) {
    const len = 1 + Math.floor(random() * maxLength);
    let text = '';
    for (let i = 0; i < len; i++) text += alphabet[Math.floor(random() * alphabet.length)];
    yield text;
  }
}

test('agrees with the rule written the obvious way on random strings', (t) => {
  for (const text of randomStrings(11, '0123456789.. a', 16)) t.is(ipv4Value(text), reference(text), JSON.stringify(text));
});

/** kube-proxy's ParseIPSloppy (Go's parser before 1.17) written the obvious way: decimal components, any leading zeros. */
function sloppyReference(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d+$/.test(p) && Number(p) <= 255)) return -1;
  return parts.reduce((v, p) => v * 256 + Number(p), 0);
}

test('sloppy: leading zeros are decimal, as kube-proxy reads them; everything else is still refused', (t) => {
  t.is(ipv4Value('010.001.002.003', true), 0x0a010203);
  t.is(ipv4Value('0000000001.2.3.4', true), 0x01020304, 'any number of zeros, as Go\'s old parser');
  for (const text of ['1.2.3', '256.1.1.1', '1.2.3.0256', ' 1.2.3.4', '1.2.3.4/32', '1..2.3']) t.is(ipv4Value(text, true), -1, text);
  for (const text of randomStrings(12, '00123456789.. a', 18)) t.is(ipv4Value(text, true), sloppyReference(text), JSON.stringify(text));
});

test('parseIpSloppy / parseCidrSloppy: the strict reading when there is one, else the decimal reading, flagged', (t) => {
  t.deepEqual(parseIpSloppy('10.96.0.10'), { ...parseIp('10.96.0.10'), sloppy: false });
  t.like(parseIpSloppy('010.096.000.010'), { family: 'IPv4', address: '10.96.0.10', sortKey: parseIp('10.96.0.10')?.sortKey, sloppy: true });
  t.like(parseIpSloppy('2001:db8::1'), { family: 'IPv6', sloppy: false });
  t.is(parseIpSloppy('10.96.0.300'), null);
  t.is(parseIp('010.096.000.010'), null, 'the strict parser is unchanged');
  t.like(parseCidrSloppy('010.000.000.001/8'), { family: 'IPv4', cidr: '10.0.0.0/8', text: '10.0.0.1/8', sloppy: true });
  t.like(parseCidrSloppy('10.0.0.0/8'), { cidr: '10.0.0.0/8', text: '10.0.0.0/8', sloppy: false });
  t.is(parseCidrSloppy('010.0.0.0/33'), null);
  t.is(parseCidr('010.0.0.0/8'), null);
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

test('formatIpv4 is ipv4Value read back', (t) => {
  const random = seededRandom(12);
  for (const [text, value] of valid) t.is(formatIpv4(value), text);
  for (let k = 0; k < 2000; k++) {
    const value = Math.floor(random() * 2 ** 32);
    t.is(ipv4Value(formatIpv4(value)), value);
  }
});

test('IPv4 CIDRs: the network with host bits cleared, prefix 0 to 32, like ipaddr.js', (t) => {
  t.deepEqual(parseIpv4Cidr('10.1.2.3/8'), { network: 0x0a000000, prefixLength: 8 });
  t.deepEqual(parseIpv4Cidr('255.255.255.255/0'), { network: 0, prefixLength: 0 });
  t.deepEqual(parseIpv4Cidr('203.0.113.7/32'), { network: 0xcb007107, prefixLength: 32 });
  for (const bad of ['10.0.0.0', '10.0.0.0/', '10.0.0.0/33', '10.0.0.0/1000', '10.0.0.0/-1', '10.0.0.0/ 8', '10.0.0/8', '10.0.0.01/8', '/8', 'fd00::/8']) {
    t.is(parseIpv4Cidr(bad), null, bad);
  }
  const random = seededRandom(13);
  for (let k = 0; k < 2000; k++) {
    const addr = formatIpv4(Math.floor(random() * 2 ** 32));
    const prefix = Math.floor(random() * 33);
    t.deepEqual(parseCidr(`${addr}/${prefix}`), { family: 'IPv4', cidr: `${ipaddr.IPv4.networkAddressFromCIDR(`${addr}/${prefix}`).toString()}/${prefix}` });
  }
});

test('IPv6 CIDRs: canonical network; zones, bad prefixes refused; CIDRs sort by network then prefix', (t) => {
  t.deepEqual(parseCidr('2001:DB8::1/32'), { family: 'IPv6', cidr: '2001:db8::/32' });
  t.deepEqual(parseCidr('fd00::/128'), { family: 'IPv6', cidr: 'fd00::/128' });
  for (const bad of ['fd00::/129', 'fd00::%eth0/64', 'fd00::/x', 'fd00::']) t.is(parseCidr(bad), null, bad);
  t.deepEqual(['fd00::/64', '10.0.0.0/16', '10.0.0.0/8', '9.0.0.0/8'].sort(compareCidrs), ['9.0.0.0/8', '10.0.0.0/8', '10.0.0.0/16', 'fd00::/64']);
});

test('the map codecs and the agent flags parse addresses by the same rule', (t) => {
  const minimal = { nodeName: 'n', devices: 'eth0' };
  for (const [text, value] of valid) {
    const b = Buffer.alloc(4);
    ipv4.write(b, 0, text);
    t.is(b.readUInt32BE(0), value, text);
    t.is(parseAgentConfig({ ...minimal, nodeAddress: text }).nodeAddress, text);
  }
  for (const text of invalid) {
    t.throws(() => ipv4.write(Buffer.alloc(4), 0, text), { instanceOf: RangeError }, JSON.stringify(text));
    t.throws(() => parseAgentConfig({ ...minimal, nodeAddress: text }), { message: /not an IPv4 address/ }, JSON.stringify(text));
  }
});

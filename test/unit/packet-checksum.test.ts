import test from 'ava';
import { checksumIsValid, foldSum, internetChecksum, onesComplementSum } from '../../src/packet/index.js';

test('the IPv4 header checksum of a textbook header is b861', (t) => {
  const header = Buffer.from('450000730000400040110000c0a80001c0a800c7', 'hex');
  t.is(internetChecksum(header), 0xb861);
  header.writeUInt16BE(0xb861, 10);
  t.true(checksumIsValid(header));
});

test('an odd trailing byte is summed as if padded with zero', (t) => {
  t.is(onesComplementSum(Buffer.from([0x12, 0x34, 0x56])), 0x1234 + 0x5600);
});

test('carries fold back into 16 bits', (t) => {
  t.is(foldSum(0x1fffe), 0xffff);
  t.is(foldSum(0x2_0001), 0x0003);
});

test('a checksum split over parts equals the checksum of the concatenation', (t) => {
  const a = Buffer.from('0102030405', 'hex');
  const b = Buffer.from('060708', 'hex');
  t.is(internetChecksum(a, b), internetChecksum(Buffer.concat([a, b])));
});

test('a corrupted byte makes the checksum fail', (t) => {
  const data = Buffer.from('45000054abcd400040010000c0000201c6336401', 'hex');
  data.writeUInt16BE(internetChecksum(data), 10);
  t.true(checksumIsValid(data));
  data[3] = (data[3] ?? 0) ^ 0x01;
  t.false(checksumIsValid(data));
});

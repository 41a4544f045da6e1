import test from 'ava';
import { decodeGeneve, DSR_OPTION, dsrOption, encodeGeneve } from '../../src/packet/index.js';

test('the DSR option is class 014b type 81 length 2 with VIP, port and two zero bytes', (t) => {
  const g = encodeGeneve({ options: [dsrOption('203.0.113.10', 80)] });
  t.is(g.toString('hex'), '03406558000000000' + '14b8102cb00710a00500000');
});

test('a Geneve header with options decodes into its fields', (t) => {
  const g = encodeGeneve({ vni: 0x123456, options: [dsrOption('203.0.113.10', 443), { optClass: 0x0102, type: 0x03, data: Buffer.from([1, 2, 3, 4]) }] });
  const d = decodeGeneve(g, 0, g.length);
  t.like(d, { version: 0, oam: false, critical: true, protocol: 0x6558, vni: 0x123456, headerLength: 28 });
  t.is(d.options.length, 2);
  t.like(d.options[0], { optClass: DSR_OPTION.optClass, type: DSR_OPTION.type, critical: true, lengthWords: 2 });
  t.like(d.options[1], { optClass: 0x0102, type: 3, critical: false, lengthWords: 1 });
});

test('an option whose length runs past Opt Len is refused', (t) => {
  const g = encodeGeneve({ options: [{ optClass: 1, type: 1, data: Buffer.alloc(4), lengthWords: 5 }] });
  t.throws(() => decodeGeneve(g, 0, g.length), { message: /runs past/ });
});

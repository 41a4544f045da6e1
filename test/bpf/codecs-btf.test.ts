/**
 * Every TypeScript codec matches its C struct in bpf/include/dsrlb.h, as the
 * compiler laid it out (read back from the object's BTF), and the generated
 * constants match the header and the BTF enums.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { BpfObjectFile, BpfObjects, projectRoot } from '../../src/bpf/index.js';
import { structCodecs } from '../../src/bpf/codecs/index.js';
import * as consts from '../../src/bpf/consts.generated.js';
import { generateConsts } from '../../scripts/gen-consts.js';

const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

test('every struct codec has the size and member offsets of its C struct', (t) => {
  const obj = BpfObjectFile.open(BpfObjects.xdpLb);
  t.teardown(() => obj.close());
  for (const codec of structCodecs) {
    const btf = obj.btfStruct(codec.cName);
    if (!btf) {
      t.fail(`struct ${codec.cName} is not in the BTF of xdp_lb.o: is a map using it?`);
      continue;
    }
    t.is(codec.size, btf.size, `${codec.cName}: size`);
    const members = btf.members.map((m) => ({ name: m.name, offset: m.offset, size: m.size }));
    const fields = codec.fields.map((f) => ({ name: snake(f.name), offset: f.offset, size: f.size }));
    t.deepEqual(fields, members, `${codec.cName}: members`);
  }
});

test('the generated constants are up to date with the header', (t) => {
  const header = readFileSync(`${projectRoot}/bpf/include/dsrlb.h`, 'utf8');
  const generated = readFileSync(`${projectRoot}/src/bpf/consts.generated.ts`, 'utf8');
  t.is(generated, generateConsts(header), 'run `make ts` to regenerate src/bpf/consts.generated.ts');
});

test('the stats enum in TypeScript equals the enum the program was compiled with', (t) => {
  const obj = BpfObjectFile.open(BpfObjects.xdpLb);
  t.teardown(() => obj.close());
  const fromBtf = Object.fromEntries((obj.btfEnum('dsrlb_stat') ?? []).map((e) => [e.name, e.value]));
  t.deepEqual(fromBtf, { ...consts.dsrlb_stat });
});

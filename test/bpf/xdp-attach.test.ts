/**
 * Programs attach to a real veth whose peer sits in a namespace the test
 * creates: XDP in native and generic mode (replace semantics, the mode that
 * took is reported) and tc clsact egress; the program then sees real traffic.
 */
import test from 'ava';
import {
  BpfObjectFile, BpfObjects, detachTc, detachXdp, ifindex, tcAttachment, xdpAttachment,
} from '../../src/bpf/index.js';
import { dsrlb_stat } from '../../src/bpf/consts.generated.js';
import { MapSpecs, mapOf } from '../../src/bpf/map-specs.js';
import { tempPinRoot } from '../helpers/bpffs.js';
import { inNetns, sh, vethIntoNetns } from '../helpers/netns.js';
import { requireRoot } from '../helpers/root.js';

test('XDP attaches natively to a veth, is replaced in place, and detaches', (t) => {
  requireRoot(t);
  const { hostIf } = vethIntoNetns(t);
  const idx = ifindex(hostIf);
  const root = tempPinRoot(t);
  const lb = BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root });
  const pass = BpfObjectFile.load(BpfObjects.xdpPass);
  t.teardown(() => { lb.close(); pass.close(); });

  t.is(lb.program('xdp_lb').attachXdp(idx, 'native'), 'native');
  t.deepEqual(xdpAttachment(idx), { mode: 'native', progId: lb.program('xdp_lb').id });

  pass.program('xdp_pass').attachXdp(idx, 'native');
  t.is(xdpAttachment(idx).progId, pass.program('xdp_pass').id, 'replaced, not stacked');

  detachXdp(idx, 'native');
  t.deepEqual(xdpAttachment(idx), { mode: 'none', progId: 0 });
});

test('XDP attaches in generic mode when asked and reports it', (t) => {
  requireRoot(t);
  const { hostIf } = vethIntoNetns(t);
  const idx = ifindex(hostIf);
  const pass = BpfObjectFile.load(BpfObjects.xdpPass);
  t.teardown(() => pass.close());
  t.is(pass.program('xdp_pass').attachXdp(idx, 'generic'), 'generic');
  t.is(xdpAttachment(idx).mode, 'generic');
  detachXdp(idx, 'generic');
});

test('the attached XDP program sees real packets: UDP to a non-service is passed and counted', (t) => {
  requireRoot(t);
  const { ns, hostIf, nsIf } = vethIntoNetns(t);
  // A documentation-range subnet private to this veth pair.
  sh('ip', ['addr', 'add', '198.51.100.201/31', 'dev', hostIf]);
  inNetns(ns, 'ip', ['addr', 'add', '198.51.100.200/31', 'dev', nsIf]);
  const idx = ifindex(hostIf);
  const root = tempPinRoot(t);
  const lb = BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root });
  t.teardown(() => { try { detachXdp(idx, 'native'); } catch { /* the veth may be gone */ } lb.close(); });
  lb.program('xdp_lb').attachXdp(idx, 'native');

  const stats = mapOf(lb, MapSpecs.stats);
  const passed = (): bigint => (stats.lookupPerCpu(dsrlb_stat.DSRLB_STAT_PASS_NOT_SERVICE) ?? []).reduce((a, b) => a + b, 0n);
  const before = passed();
  // Five datagrams to the discard port of the host side; the stack drops them after XDP counted them.
  inNetns(ns, 'bash', ['-c', 'for i in 1 2 3 4 5; do echo x > /dev/udp/198.51.100.201/9; done']);
  t.true(passed() - before >= 5n, `counted ${passed() - before}`);
});

test('tc egress attaches through a clsact hook and detaches', (t) => {
  requireRoot(t);
  const { hostIf } = vethIntoNetns(t);
  const idx = ifindex(hostIf);
  const root = tempPinRoot(t);
  const tc = BpfObjectFile.load(BpfObjects.tcRevnat, { pinRoot: root });
  t.teardown(() => tc.close());
  const prog = tc.program('tc_revnat');
  prog.attachTc(idx, 'egress');
  t.is(tcAttachment(idx, 'egress'), prog.id);
  prog.attachTc(idx, 'egress'); // replace at the same handle is idempotent
  t.is(tcAttachment(idx, 'egress'), prog.id);
  detachTc(idx, 'egress');
  t.is(tcAttachment(idx, 'egress'), null);
});

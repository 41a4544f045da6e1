/**
 * `lbctl lab test`: a quick end-to-end check on a fresh lab, one line per
 * check with its evidence (the full suite is test/e2e, run by `make test`).
 */
import type { Lab } from './lab.js';
import { LAB_UDP_PORT, LAB_VIP } from './manifests.js';
import { downloadUrl, human, MB, measurePaths, nodePortUrl, sawLocalAndRemote, seenUntil, VIP_URL, type Seen } from './probes.js';

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly evidence: string;
}

/** "x (3 times); y" */
function countDistinct(lines: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const l of lines) counts.set(l, (counts.get(l) ?? 0) + 1);
  return [...counts].map(([l, n]) => (n > 1 ? `${l} (${n} times)` : l)).join('; ');
}

function describeSeen(seen: readonly Seen[]): string {
  const byPod = new Map<string, Seen>();
  for (const s of seen) byPod.set(s.pod, s);
  return [...byPod.values()].map((s) => `${s.pod} (${s.node}, ${s.local ? 'local' : 'remote'}) saw ${[...new Set(seen.filter((x) => x.pod === s.pod).map((x) => x.remoteAddress))].join('/')}`).join('; ');
}

async function clientAddress(lab: Lab, name: string, url: string): Promise<CheckResult> {
  const { seen, errors } = await seenUntil(lab, url, sawLocalAndRemote);
  const client = lab.topo.client.address;
  const ok = sawLocalAndRemote(seen) && errors.length === 0 && seen.every((s) => s.remoteAddress === client);
  return { name, ok, evidence: `${seen.length} connections: ${describeSeen(seen)}${errors.length ? `; errors: ${[...new Set(errors)].join(', ')}` : ''}` };
}

async function dsrPath(lab: Lab): Promise<CheckResult> {
  const bytes = 32 * MB;
  await lab.setService({ onlyNodes: ['node-b'] });
  try {
    const r = await measurePaths(lab, () => lab.client({ op: 'download', url: downloadUrl(bytes) }));
    const a = r.nodes['node-a'];
    const b = r.nodes['node-b'];
    const aBytes = (a?.rxBytes ?? 0) + (a?.txBytes ?? 0);
    const ok = !r.result.error && r.result.bytes === bytes && (b?.txBytes ?? 0) >= bytes && aBytes < bytes / 10;
    return {
      name: 'DSR: the reply does not cross node-a',
      ok,
      evidence: `${human(r.result.bytes)} from ${r.result.pod ?? '?'}${r.result.error ? ` (${r.result.error})` : ''}; node-b sent ${human(b?.txBytes ?? 0)}, node-a carried ${human(aBytes)}`,
    };
  } finally {
    await lab.setService({});
  }
}

async function udpEcho(lab: Lab): Promise<CheckResult> {
  const answers = await lab.client({ op: 'udp', host: LAB_VIP, port: LAB_UDP_PORT, count: 6 });
  const good = answers.filter((a) => a.answer && a.from === `${LAB_VIP}:${LAB_UDP_PORT}`);
  return {
    name: 'UDP through the VIP',
    ok: good.length === answers.length,
    evidence: countDistinct(answers.map((a) => (a.answer ? `${a.answer.pod} saw ${a.answer.remoteAddress}, answered from ${a.from ?? '?'}` : `no answer (${a.error ?? '?'})`))),
  };
}

export async function runLabChecks(lab: Lab, onResult: (r: CheckResult) => void = () => undefined): Promise<CheckResult[]> {
  const checks: [string, () => Promise<CheckResult>][] = [
    ['client address kept through the VIP', () => clientAddress(lab, 'client address kept through the VIP', VIP_URL)],
    ['client address kept through NodePort node-a:30080', () => clientAddress(lab, 'client address kept through NodePort node-a:30080', nodePortUrl(lab.topo))],
    ['DSR: the reply does not cross node-a', () => dsrPath(lab)],
    ['UDP through the VIP', () => udpEcho(lab)],
  ];
  const out: CheckResult[] = [];
  for (const [name, run] of checks) {
    let r: CheckResult;
    try {
      r = await run();
    } catch (e) {
      r = { name, ok: false, evidence: e instanceof Error ? e.message : String(e) };
    }
    out.push(r);
    onResult(r);
  }
  return out;
}

/**
 * An XDP program dsrlb did not attach (issue 10): the agent refuses to start
 * on its device with one line naming the program (id, name) and the remedy,
 * before it touches anything; --xdp-replace-foreign lets it replace the
 * program.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/bpf/index.js';
import { tempPinRoot } from '../helpers/bpffs.js';
import { nodeNetns, sh } from '../helpers/netns.js';
import { requireRoot } from '../helpers/root.js';
import { waitFor } from '../helpers/wait.js';

const agentBin = join(projectRoot, 'bin', 'dsrlb-agent.js');
const attachXdpPass = join(projectRoot, 'dist', 'lab', 'attach-xdp-pass.js');

const MANIFEST = `
apiVersion: v1
kind: Node
metadata: { name: node-a }
status: { addresses: [{ type: InternalIP, address: 198.51.100.1 }] }
`;

interface XdpProg { id: number; name: string }

function xdpProg(ns: string): XdpProg | undefined {
  const [link] = JSON.parse(sh('ip', ['-n', ns, '-j', '-d', 'link', 'show', 'eth0'])) as { xdp?: { prog?: XdpProg } }[];
  return link?.xdp?.prog;
}

/** A namespace whose eth0 carries somebody else's XDP program (xdp_pass, as the lab attaches it). */
function nodeWithForeignXdp(t: ExecutionContext): { ns: string; dir: string; root: string; foreign: XdpProg } {
  requireRoot(t);
  const ns = nodeNetns(t, 'dsrlbt-fxdp', '198.51.100.1/24');
  sh('nsenter', [`--net=/run/netns/${ns}`, 'node', attachXdpPass, 'eth0']);
  const foreign = xdpProg(ns);
  if (!foreign) throw new Error('xdp_pass did not attach');
  const dir = mkdtempSync(join(tmpdir(), 'dsrlb-fxdp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'node.yaml'), MANIFEST);
  return { ns, dir, root: tempPinRoot(t), foreign };
}

function agentArgs(ns: string, dir: string, root: string, extra: string[] = []): string[] {
  return [`--net=/run/netns/${ns}`, 'node', agentBin, '--manifests', dir, '--node-name', 'node-a', '--devices', 'eth0',
    '--bpffs-root', root, '--metrics-addr', '127.0.0.1:9963', '--health-addr', '127.0.0.1:9964', ...extra];
}

test('the agent refuses a device with a foreign XDP program, naming it and the remedy, and touches nothing', async (t) => {
  const { ns, dir, root, foreign } = nodeWithForeignXdp(t);
  const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const p = spawn('nsenter', agentArgs(ns, dir, root), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('exit', (code) => resolve({ code, stderr }));
  });

  t.is(out.code, 1);
  t.is(out.stderr.trim().split('\n').length, 1, out.stderr);
  t.regex(out.stderr, new RegExp(`eth0: has XDP program id ${foreign.id} 'xdp_pass' \\(native mode\\), not attached by dsrlb`));
  t.regex(out.stderr, /--xdp-replace-foreign/);
  t.deepEqual(xdpProg(ns), foreign, 'the foreign program is still there');
  t.deepEqual(readdirSync(root), [], 'nothing was pinned');
});

test('with --xdp-replace-foreign the agent replaces it and says so', async (t) => {
  const { ns, dir, root, foreign } = nodeWithForeignXdp(t);
  let log = '';
  const agent = spawn('nsenter', agentArgs(ns, dir, root, ['--xdp-replace-foreign']), { stdio: ['ignore', 'pipe', 'pipe'] });
  agent.stdout?.on('data', (d: Buffer) => { log += d.toString(); });
  agent.stderr?.on('data', (d: Buffer) => { log += d.toString(); });
  t.teardown(() => { agent.kill('SIGKILL'); });

  await waitFor(() => log.includes('"msg":"synced"'), 20_000, () => `agent did not sync:\n${log}`);
  const now = xdpProg(ns);
  t.is(now?.name, 'xdp_lb');
  t.not(now?.id, foreign.id);
  t.regex(log, new RegExp(`"id":${foreign.id},"name":"xdp_pass".*replacing an XDP program dsrlb did not attach`));
});

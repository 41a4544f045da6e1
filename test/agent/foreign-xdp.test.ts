/**
 * An XDP program dsrlb did not attach (issue 10): the agent refuses to start
 * on its device with one line naming the program (id, name) and the remedy,
 * before it touches anything; --xdp-replace-foreign lets it replace the
 * program.
 */
import test, { type ExecutionContext } from 'ava';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/bpf/index.js';
import { agentNode, spawnAgent, type AgentNode } from '../helpers/agent.js';
import { sh } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const attachXdpPass = join(projectRoot, 'dist', 'lab', 'attach-xdp-pass.js');

const NODE = `apiVersion: v1
kind: Node
metadata: { name: node-a }
status: { addresses: [{ type: InternalIP, address: 198.51.100.1 }] }
`;

interface XdpProg { id: number; name: string }

function xdpProg(ns: string): XdpProg | undefined {
  const [link] = JSON.parse(sh('ip', ['-n', ns, '-j', '-d', 'link', 'show', 'eth0'])) as { xdp?: { prog?: XdpProg } }[];
  return link?.xdp?.prog;
}

/** A node whose eth0 carries somebody else's XDP program (xdp_pass, as the lab attaches it). */
function nodeWithForeignXdp(t: ExecutionContext): AgentNode & { foreign: XdpProg } {
  const node = agentNode(t);
  sh('nsenter', [`--net=/run/netns/${node.ns}`, 'node', attachXdpPass, 'eth0']);
  const foreign = xdpProg(node.ns);
  if (!foreign) throw new Error('xdp_pass did not attach');
  writeFileSync(join(node.dir, 'node.yaml'), NODE);
  return { ...node, foreign };
}

function args(n: AgentNode, extra: string[] = []): string[] {
  return ['--manifests', n.dir, '--node-name', 'node-a', '--devices', 'eth0', '--bpffs-root', n.root,
    '--metrics-addr', '127.0.0.1:9476', '--health-addr', '127.0.0.1:9477', ...extra];
}

test('the agent refuses a device with a foreign XDP program, naming it and the remedy, and touches nothing', async (t) => {
  const node = nodeWithForeignXdp(t);
  const agent = spawnAgent(t, node.ns, args(node));

  t.is(await agent.exited, 1);
  const out = agent.log().trim();
  t.is(out.split('\n').length, 1, out);
  t.regex(out, new RegExp(`eth0: has XDP program id ${node.foreign.id} 'xdp_pass' \\(native mode\\), not attached by dsrlb`));
  t.regex(out, /--xdp-replace-foreign/);
  t.deepEqual(xdpProg(node.ns), node.foreign, 'the foreign program is still there');
  t.deepEqual(readdirSync(node.root), [], 'nothing was pinned');
});

test('with --xdp-replace-foreign the agent replaces it and says so', async (t) => {
  const node = nodeWithForeignXdp(t);
  const agent = spawnAgent(t, node.ns, args(node, ['--xdp-replace-foreign']));

  await waitFor(() => agent.log().includes('"msg":"synced"'), 30_000, () => `agent did not sync:\n${agent.log()}`);
  await waitFor(() => xdpProg(node.ns)?.name === 'xdp_lb', 30_000, () => JSON.stringify(xdpProg(node.ns)));
  t.not(xdpProg(node.ns)?.id, node.foreign.id);
  t.regex(agent.log(), new RegExp(`"id":${node.foreign.id},"name":"xdp_pass".*replacing an XDP program dsrlb did not attach`));
});

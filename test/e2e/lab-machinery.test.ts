/**
 * The lab itself, apart from the datapath: namespaces, pod servers and
 * iperf3 come up and answer; teardown removes namespaces, processes, pinned
 * maps and files; a failing step tears down what was made and says which
 * step failed; `lab down` finds the leftovers of a run that crashed.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/bpf/native.js';
import { labNamespaces } from '../../src/lab/build.js';
import { runTool } from '../../src/lab/client.js';
import { iperfDownload } from '../../src/lab/iperf.js';
import { Lab, randomLabId, teardownLab } from '../../src/lab/lab.js';
import { POD_HTTP_PORT, POD_UDP_PORT } from '../../src/lab/pod-server.js';
import { alive, sleep } from '../../src/lab/processes.js';
import { nsRun, run } from '../../src/lab/sh.js';
import { findLabs, isLeftover, readState } from '../../src/lab/state.js';
import { labTopology } from '../../src/lab/topology.js';
import { requireRoot } from '../helpers/root.js';
import { waitFor } from '../helpers/wait.js';

test.serial('a lab without agents: every pod answers HTTP, UDP and iperf3; teardown leaves nothing', async (t) => {
  requireRoot(t);
  const lab = await Lab.up({ nodes: 2, podsPerNode: 2, agents: false });
  let pids: number[] = [];
  try {
    const state = readState(lab.topo.workDir);
    pids = state?.processes.map((p) => p.pid) ?? [];
    t.is(pids.length, 8, 'a pod server and an iperf3 per pod');
    t.true(pids.every(alive));
    const nodeA = lab.node('node-a');
    for (const n of lab.topo.nodes) {
      for (const pod of n.pods) {
        const [get] = await runTool(nodeA.ns, nodeA.address, { op: 'get', url: `http://${pod.address}:${POD_HTTP_PORT}/` });
        t.is(get?.answer?.pod, pod.name);
        const expectSeen = n === nodeA ? nodeA.podGateway : nodeA.address;
        t.is(get?.answer?.remoteAddress, expectSeen, 'routed between nodes without NAT');
        const [udp] = await runTool(nodeA.ns, nodeA.address, { op: 'udp', host: pod.address, port: POD_UDP_PORT });
        t.is(udp?.answer?.pod, pod.name);
      }
    }
    const remotePod = lab.node('node-b').pods[0];
    const iperf = await iperfDownload(nodeA.ns, { server: remotePod?.address ?? '', seconds: 1 });
    t.log(`iperf3 node-a <- ${remotePod?.name}: ${(iperf.bitsPerSecond / 1e6).toFixed(0)} Mbit/s, ${iperf.retransmits} retransmits`);
    t.true(iperf.bytes > 0);
    // The client reaches node-a's address but no pod directly (no route to pod CIDRs).
    t.regex(nsRun(lab.topo.client.ns, 'ip', ['route', 'get', '203.0.113.10']), /via 198\.51\.100\.1 /);
  } finally {
    lab.down();
  }
  t.deepEqual(labNamespaces(lab.topo.prefix), []);
  t.false(existsSync(lab.topo.workDir));
  t.false(existsSync(lab.topo.bpffsBase));
  // SIGKILL is asynchronous: give the kernel a bounded moment to finish the processes.
  await waitFor(() => pids.every((p) => !alive(p)), 5_000, () => `still alive: ${pids.filter(alive).join(', ')}`);
  t.true(pids.every((p) => !alive(p)), 'every process is gone');
});

test.serial('a step that fails tears the lab down and names the step and what to check', async (t) => {
  requireRoot(t);
  const id = randomLabId();
  // An MTU the agent refuses: every agent exits at start.
  const err = await t.throwsAsync(Lab.up({ id, nodes: 2, mtu: 100 }));
  t.log(err?.message);
  t.regex(err?.message ?? '', /^lab up failed at step 'agents': agent node-[ab] /);
  t.regex((err as { remedy?: string } | undefined)?.remedy ?? '', /agent-node-[ab]\.log/);
  const topo = labTopology({ id, nodes: 2 });
  t.deepEqual(labNamespaces(topo.prefix), [], 'no namespace left');
  t.false(existsSync(topo.bpffsBase), 'no pinned maps left');
  t.true(existsSync(join(topo.workDir, 'logs', 'agent-node-a.log')), 'the logs are kept');
  teardownLab(id);
  t.false(existsSync(topo.workDir));
});

test.serial('lab down removes what a crashed run left behind', async (t) => {
  requireRoot(t);
  const id = randomLabId();
  // Another process brings a lab up and dies by SIGKILL: no exit hook runs.
  const script = `import { Lab } from ${JSON.stringify(join(projectRoot, 'src', 'lab', 'lab.ts'))};
await Lab.up({ id: ${JSON.stringify(id)}, nodes: 1, agents: false });
process.stdout.write('up\\n');
setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => teardownLab(id));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the child lab did not come up in 30 s')), 30_000);
    child.stdout.on('data', (c: Buffer) => { if (c.toString().includes('up')) { clearTimeout(timer); resolve(); } });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`child exited ${code}`)); });
  });
  child.kill('SIGKILL');
  for (let i = 0; i < 40 && child.exitCode === null && child.signalCode === null; i++) await sleep(50);

  const found = findLabs().find((l) => l.id === id);
  t.truthy(found);
  t.true(found !== undefined && isLeftover(found), 'its owner is gone');
  t.true((found?.namespaces.length ?? 0) >= 4);
  const out = run(process.execPath, [join(projectRoot, 'bin', 'lbctl.js'), 'lab', 'down', '--id', id]);
  t.log(out.trim());
  t.regex(out, new RegExp(`removed lab ${id} \\(\\d+ namespaces`));
  t.is(findLabs().find((l) => l.id === id), undefined);
});

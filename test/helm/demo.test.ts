/**
 * What CI can check of what it cannot run (no docker, kind or registry here):
 * the kind demo passes shellcheck and asks for a cluster without kube-proxy,
 * the chart renders with the values the demo passes, and the Dockerfile copies
 * only what the repository and its build really hold.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../../src/bpf/index.js';
import { find, render, schemaErrors } from './chart.js';

test('demos/kind/demo.sh passes shellcheck', (t) => {
  t.notThrows(() => execFileSync('shellcheck', ['--severity=style', join(projectRoot, 'demos/kind/demo.sh')], { stdio: 'pipe' }));
});

test('the kind cluster has no kube-proxy', (t) => {
  const config = parse(readFileSync(join(projectRoot, 'demos/kind/kind-config.yaml'), 'utf8')) as { networking?: { kubeProxyMode?: string }; nodes?: unknown[] };
  t.is(config.networking?.kubeProxyMode, 'none');
  t.is(config.nodes?.length, 3);
});

test('the chart renders with the values the demo passes', (t) => {
  for (const acceleration of ['native', 'generic']) {
    const docs = render({ k8sServiceHost: '172.18.0.2', k8sServicePort: 6443, image: { repository: 'dsrlb/dsrlb', tag: 'dev', pullPolicy: 'Never' }, loadBalancer: { acceleration }, devices: ['eth0'] });
    t.deepEqual(docs.flatMap(schemaErrors), []);
    t.like(find(docs, 'ConfigMap'), { data: { DSRLB_XDP_MODE: acceleration } });
  }
  const script = readFileSync(join(projectRoot, 'demos/kind/demo.sh'), 'utf8');
  for (const flag of ['k8sServiceHost=', 'k8sServicePort=6443', 'image.pullPolicy=Never', 'loadBalancer.acceleration=']) t.true(script.includes(`--set ${flag}`), flag);
});

test('the Dockerfile copies what exists: sources from the repository, the runtime from the build output the agent loads', (t) => {
  const dockerfile = readFileSync(join(projectRoot, 'images/dsrlb/Dockerfile'), 'utf8');
  const copies = dockerfile.split('\n').filter((l) => l.startsWith('COPY '));
  t.is(copies.length, 12);
  for (const line of copies) {
    const words = line.split(' ').slice(1);
    const fromBuild = words[0] === '--from=build';
    // Every word but the destination is a source; build-stage paths are under /src: the same relative paths after `make build` here.
    for (const src of words.slice(fromBuild ? 1 : 0, -1)) {
      const path = fromBuild ? src.replace(/^\/src\//, '') : src;
      t.true(existsSync(join(projectRoot, path)), `${line}: ${path} does not exist`);
    }
  }
  for (const loaded of ['build/addon/Release/dsrlb_native.node', 'build/bpf/xdp_lb.o', 'build/bpf/tc_revnat.o', 'build/bpf/xdp_pass.o', 'dist/agent/main.js', 'dist/cli/lbctl.js']) {
    t.true(existsSync(join(projectRoot, loaded)), loaded);
  }
  t.regex(dockerfile, /npm ci --omit=dev/);
  t.regex(dockerfile, /libbpf1 libelf1/);
  t.regex(dockerfile, /ENTRYPOINT \["dsrlb-agent"\]/);
  t.regex(dockerfile, /ln -s \/opt\/dsrlb\/bin\/dsrlb-agent\.js \/usr\/local\/bin\/dsrlb-agent/);
  t.regex(dockerfile, /ln -s \/opt\/dsrlb\/bin\/lbctl\.js \/usr\/local\/bin\/lbctl/);
  t.regex(dockerfile, /^ARG BUILD_IMAGE=/m);
  t.regex(dockerfile, /^ARG RUNTIME_IMAGE=/m);
  t.regex(dockerfile, /RUN make bpf addon ts/);
});

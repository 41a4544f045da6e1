/** healthCheckNodePort servers answer like kube-proxy's. */
import test from 'ava';
import { HealthCheckNodePorts } from '../../src/agent/health-check-node-ports.js';
import { listen, close } from '../../src/agent/http.js';

async function freePort(): Promise<number> {
  const s = await listen(() => undefined, '127.0.0.1', 0, 'probe');
  const addr = s.address();
  await close(s);
  return typeof addr === 'object' && addr ? addr.port : 0;
}

test('200 with the local endpoint count when local ready endpoints exist, 503 otherwise', async (t) => {
  const hc = new HealthCheckNodePorts('127.0.0.1');
  t.teardown(() => hc.stop());
  const [a, b] = [await freePort(), await freePort()];
  await hc.sync([{ service: 'shop/web', port: a, localReadyEndpoints: 2 }, { service: 'shop/db', port: b, localReadyEndpoints: 0 }]);

  const ok = await fetch(`http://127.0.0.1:${a}/healthz`);
  t.is(ok.status, 200);
  t.is(ok.headers.get('x-load-balancing-endpoint-weight'), '2');
  t.deepEqual(await ok.json(), { service: { namespace: 'shop', name: 'web' }, localEndpoints: 2, serviceProxyHealthy: true });

  const none = await fetch(`http://127.0.0.1:${b}/`);
  t.is(none.status, 503);
  t.is(((await none.json()) as { localEndpoints: number }).localEndpoints, 0);

  // Counts change in place; a port no longer wanted is closed.
  await hc.sync([{ service: 'shop/web', port: a, localReadyEndpoints: 0 }]);
  t.is((await fetch(`http://127.0.0.1:${a}/`)).status, 503);
  t.deepEqual(hc.ports(), [a]);
  await t.throwsAsync(fetch(`http://127.0.0.1:${b}/`));
});

test('a port that is taken is reported, and the other ports still serve', async (t) => {
  const taken = await listen(() => undefined, '127.0.0.1', 0, 'squatter');
  t.teardown(() => close(taken));
  const addr = taken.address();
  const takenPort = typeof addr === 'object' && addr ? addr.port : 0;
  const free = await freePort();
  const hc = new HealthCheckNodePorts('127.0.0.1');
  t.teardown(() => hc.stop());
  await hc.sync([{ service: 'a/x', port: takenPort, localReadyEndpoints: 1 }, { service: 'a/y', port: free, localReadyEndpoints: 1 }]);
  t.regex(hc.errors.get(takenPort)?.message ?? '', /EADDRINUSE/);
  t.is((await fetch(`http://127.0.0.1:${free}/`)).status, 200);
});

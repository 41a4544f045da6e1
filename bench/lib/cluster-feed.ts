/**
 * The control-plane benchmark's cluster, served from a child process so the
 * measured process holds only what an agent holds (the generated objects and
 * their JSON would otherwise sit in its heap beside the agent's own state).
 *
 * Protocol: newline-delimited JSON on stdout, one line per answer, the way an
 * API server sends list pages and watch events (JSON.stringify never emits a
 * raw newline). At start it generates the cluster and renders every list
 * page (PAGE_SIZE items each, as an API server answers `limit`), then writes
 * one line, {"ready":true}; from then on it answers one line per command
 * read from stdin:
 *   list KIND [CONTINUE]
 *                a page of the list of KIND (nodes, services, endpointSlices:
 *                LISTS' order), the first one without CONTINUE, the next
 *                with the previous page's metadata.continue (absent on the
 *                last page), as a list request with `limit` and `continue`;
 *   change       a watch event (MODIFIED) for one EndpointSlice whose endpoint
 *                flipped readiness or was replaced by a new pod (seeded: the
 *                same run every time);
 *   maps ROOT    entries in the maps pinned under ROOT (MapCounts);
 *   follow ROOT  whether the lb4_services entry of every Service changed so
 *                far counts its ready endpoints (FollowCheck).
 * The maps are read here, not in the measured process: reading 100,000
 * backends back would add to its heap what no agent allocates.
 * It exits when stdin closes.
 *
 * Run by bench/lib/feed-client.ts: cluster-feed.ts SERVICES ENDPOINTS NODES NODEPORT_EVERY PAGE_SIZE
 */
import { createInterface } from 'node:readline';
import { mapFill, MapSpecs, openPinned, type MapSpec } from '../../src/bpf/map-specs.js';
import { seededRandom } from '../../test/helpers/rng.js';
import {
  initialEndpoints, LISTS, makeNode, makeService, makeSlices, type ClusterShape, type EndpointState,
} from './cluster.js';
import type { FollowCheck, MapCounts } from './feed-client.js';

function argsOf(argv: readonly string[]): { shape: ClusterShape; pageSize: number } {
  const [services, endpointsPerService, nodes, nodePortEvery, pageSize] = argv.map(Number);
  for (const n of [services, endpointsPerService, nodes, nodePortEvery, pageSize]) {
    if (n === undefined || !Number.isInteger(n) || n < 0) throw new Error(`usage: cluster-feed.ts SERVICES ENDPOINTS NODES NODEPORT_EVERY PAGE_SIZE (got ${argv.join(' ')})`);
  }
  if (pageSize === 0) throw new Error('cluster-feed.ts: PAGE_SIZE must be at least 1');
  return {
    shape: { services: services as number, endpointsPerService: endpointsPerService as number, nodes: nodes as number, nodePortEvery: nodePortEvery as number },
    pageSize: pageSize as number,
  };
}

const { shape, pageSize } = argsOf(process.argv.slice(2));
const endpoints: EndpointState[][] = Array.from({ length: shape.services }, (_, i) => initialEndpoints(i, shape));

function line(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

const items = {
  nodes: () => Array.from({ length: shape.nodes }, (_, i) => makeNode(i)),
  services: () => Array.from({ length: shape.services }, (_, i) => makeService(i, shape)),
  endpointSlices: () => endpoints.flatMap((e, i) => makeSlices(i, shape, e)),
};
/** Each list's pages as text, rendered ahead: the measured process waits only for the pipe. The continue token is the next page's index. */
function render(kind: string, all: readonly unknown[]): string[] {
  const pages: string[] = [];
  for (let from = 0; from === 0 || from < all.length; from += pageSize) {
    const rest = all.length - from - pageSize;
    const metadata = rest > 0 ? { resourceVersion: '1', continue: String(pages.length + 1), remainingItemCount: rest } : { resourceVersion: '1' };
    pages.push(JSON.stringify({ apiVersion: 'v1', kind, metadata, items: all.slice(from, from + pageSize) }));
  }
  return pages;
}
const pages = new Map<string, string[]>(LISTS.map(([collection, kind]) => [collection, render(kind, items[collection]())]));
line({ ready: true });

const random = seededRandom(4);
let nextPod = shape.services * shape.endpointsPerService;
let generation = 2;
const touched = new Set<number>();

/** One endpoint changes: half readiness flips, half a pod replaced by a new one at a new address. */
function change(): unknown {
  const i = Math.floor(random() * shape.services);
  const eps = endpoints[i] as EndpointState[];
  const j = Math.floor(random() * eps.length);
  const ep = eps[j] as EndpointState;
  eps[j] = random() < 0.5 ? { pod: ep.pod, ready: !ep.ready } : { pod: nextPod++, ready: true };
  touched.add(i);
  const slice = makeSlices(i, shape, eps, generation++)[Math.floor(j / 100)];
  if (!slice) throw new Error(`service ${i} has no slice for endpoint ${j}`);
  return { type: 'MODIFIED', object: slice };
}

const countEntries = <K, V>(root: string, spec: MapSpec<K, V>): number => mapFill(root, spec).entries;

function mapCounts(root: string): MapCounts {
  return {
    services: countEntries(root, MapSpecs.services),
    backends: countEntries(root, MapSpecs.backends),
    maglevTables: countEntries(root, MapSpecs.maglev),
    revnat: countEntries(root, MapSpecs.revnat),
    nodes: countEntries(root, MapSpecs.nodes),
  };
}

function followCheck(root: string): FollowCheck {
  const services = openPinned(root, MapSpecs.services);
  let wrong = 0;
  try {
    for (const i of touched) {
      const address = makeService(i, shape).spec?.clusterIP as string;
      const v = services.lookup({ address, port: 80, proto: 6, pad: undefined } as never);
      if (!v || v.backendCount !== (endpoints[i] as EndpointState[]).filter((e) => e.ready).length) wrong++;
    }
  } finally {
    services.close();
  }
  return { servicesChecked: touched.size, wrong };
}

const commands = createInterface({ input: process.stdin });
commands.on('line', (text) => {
  const [command, arg, token] = text.split(' ');
  const page = command === 'list' ? pages.get(arg ?? '')?.[Number(token ?? 0)] : undefined;
  if (page !== undefined) {
    process.stdout.write(`${page}\n`);
  } else if (command === 'change') {
    line(change());
  } else if (command === 'maps' && arg) {
    line(mapCounts(arg));
  } else if (command === 'follow' && arg) {
    line(followCheck(arg));
  } else {
    process.stderr.write(`cluster-feed: unknown command '${text}'\n`);
    process.exit(2);
  }
});
commands.on('close', () => process.exit(0));

/**
 * The lab's shape, as data (pure): namespaces, links and addresses for a
 * client, an L2 fabric and N nodes with pods. Addresses are the documentation
 * ranges of docs/design.md §7: nodes 198.51.100.N/24, client 198.51.100.100,
 * VIPs 203.0.113.0/24, pods 198.18.N.0/24 on node N.
 */

export const NODE_SUBNET_PREFIX = '198.51.100';
export const NODE_PREFIX_LEN = 24;
export const CLIENT_ADDRESS = `${NODE_SUBNET_PREFIX}.100`;
export const VIP_SUBNET = '203.0.113.0/24';
/** First pod host number in a node's pod CIDR; .1 is the node's side of pod veths. */
const FIRST_POD_HOST = 10;
const NODE_LETTERS = 'abcdefgh';

export interface LabPod {
  readonly name: string;
  readonly ns: string;
  readonly address: string;
  /** Interface on the node's side of the pod's veth. */
  readonly hostIf: string;
}

export interface LabNode {
  readonly name: string;
  /** 1-based, decides the addresses. */
  readonly index: number;
  readonly ns: string;
  readonly address: string;
  readonly podCidr: string;
  readonly podGateway: string;
  /** The node's uplink inside its namespace (the agent's --devices). */
  readonly uplink: string;
  /** The uplink's peer in the fabric namespace. */
  readonly fabricPort: string;
  readonly pods: readonly LabPod[];
}

export interface LabTopology {
  readonly id: string;
  /** Every namespace name starts with this, so `down` can find leftovers. */
  readonly prefix: string;
  readonly fabricNs: string;
  readonly bridge: string;
  readonly client: { readonly ns: string; readonly address: string; readonly uplink: string; readonly fabricPort: string };
  readonly nodes: readonly LabNode[];
  /** Directory of the per-agent bpffs roots. */
  readonly bpffsBase: string;
  /** Scratch directory: state file, manifests, logs. */
  readonly workDir: string;
}

export interface TopologyOptions {
  readonly id: string;
  readonly nodes?: number;
  readonly podsPerNode?: number;
}

/** Leftovers of any lab are found by these prefixes (`lab down`). */
export const LAB_NS_PATTERN = /^dsrlb-([a-z0-9]{1,8})-/;
export const LAB_BPFFS_PREFIX = '/sys/fs/bpf/dsrlb-lab-';
export const LAB_WORKDIR_PREFIX = '/tmp/dsrlb-lab-';

export function labPrefix(id: string): string {
  return `dsrlb-${id}-`;
}

export function labTopology(opts: TopologyOptions): LabTopology {
  const nodeCount = opts.nodes ?? 3;
  const podsPerNode = opts.podsPerNode ?? 1;
  if (!/^[a-z0-9]{1,8}$/.test(opts.id)) throw new RangeError(`lab id '${opts.id}' must be 1-8 lower-case letters or digits`);
  if (nodeCount < 1 || nodeCount > NODE_LETTERS.length) throw new RangeError(`nodes must be 1..${NODE_LETTERS.length}`);
  if (podsPerNode < 1 || podsPerNode > 100) throw new RangeError('podsPerNode must be 1..100');
  const prefix = labPrefix(opts.id);
  const nodes: LabNode[] = [];
  for (let i = 1; i <= nodeCount; i++) {
    const letter = NODE_LETTERS[i - 1] ?? String(i);
    const name = `node-${letter}`;
    const pods: LabPod[] = [];
    for (let k = 1; k <= podsPerNode; k++) {
      const pod = `web-${letter}${k}`;
      pods.push({ name: pod, ns: `${prefix}${pod}`, address: `198.18.${i}.${FIRST_POD_HOST + k - 1}`, hostIf: `veth-${letter}${k}` });
    }
    nodes.push({
      name, index: i, ns: `${prefix}${name}`, address: `${NODE_SUBNET_PREFIX}.${i}`,
      podCidr: `198.18.${i}.0/24`, podGateway: `198.18.${i}.1`, uplink: 'eth0', fabricPort: `p-${name}`, pods,
    });
  }
  return {
    id: opts.id,
    prefix,
    fabricNs: `${prefix}fabric`,
    bridge: 'br0',
    client: { ns: `${prefix}client`, address: CLIENT_ADDRESS, uplink: 'eth0', fabricPort: 'p-client' },
    nodes,
    bpffsBase: `${LAB_BPFFS_PREFIX}${opts.id}`,
    workDir: `${LAB_WORKDIR_PREFIX}${opts.id}`,
  };
}

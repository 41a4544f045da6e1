/**
 * An nftables rule set shaped like kube-proxy's nftables mode (pure: services
 * -> `nft -f` text): a verdict map from {ClusterIP, protocol, port} to the
 * service's chain, which picks an endpoint chain with `numgen random`, which
 * marks hairpin traffic for masquerade and DNATs. Hooked on nat output (a
 * process of this namespace as the client) and prerouting, with the
 * masquerade in postrouting, as kube-proxy does. Conntrack is what NAT needs.
 */

export interface NftService {
  readonly clusterIP: string;
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
  readonly endpoints: readonly { readonly address: string; readonly port: number }[];
}

const TABLE = 'kube-proxy';
const MASQ_MARK = '0x4000';

function chainName(kind: 'svc' | 'ep', i: number, j = 0): string {
  return kind === 'svc' ? `service-${i}` : `endpoint-${i}-${j}`;
}

/**
 * The rule set as `nft -f` transactions of `perTransaction` services each
 * (the first also creates the table): one transaction of 110,000 chains
 * takes the kernel minutes to commit here, growing with the square of its
 * size; in transactions of 1,000 services it takes seconds.
 */
export function kubeProxyRuleset(services: readonly NftService[], perTransaction = 1000): string[] {
  const head = [
    `table ip ${TABLE}`,
    `delete table ip ${TABLE}`,
    `table ip ${TABLE} {`,
    '  map service-ips { type ipv4_addr . inet_proto . inet_service : verdict; }',
    '  chain nat-prerouting { type nat hook prerouting priority dstnat; policy accept; jump services; }',
    '  chain nat-output { type nat hook output priority -100; policy accept; jump services; }',
    '  chain nat-postrouting { type nat hook postrouting priority srcnat; policy accept; jump masquerading; }',
    `  chain masquerading { meta mark & ${MASQ_MARK} == 0 return; meta mark set meta mark ^ ${MASQ_MARK}; masquerade fully-random; }`,
    `  chain mark-for-masquerade { meta mark set meta mark | ${MASQ_MARK}; }`,
    '  chain services { ip daddr . meta l4proto . th dport vmap @service-ips; }',
    '}',
  ];
  const out: string[] = [];
  for (let first = 0; first < services.length || out.length === 0; first += perTransaction) {
    const lines = out.length === 0 ? [...head] : [];
    const chunk = services.slice(first, first + perTransaction);
    lines.push(`table ip ${TABLE} {`);
    chunk.forEach((s, k) => {
      const i = first + k;
      const picks = s.endpoints.map((_, j) => `${j} : goto ${chainName('ep', i, j)}`).join(', ');
      lines.push(`  chain ${chainName('svc', i)} { numgen random mod ${s.endpoints.length} vmap { ${picks} }; }`);
      s.endpoints.forEach((e, j) => {
        lines.push(`  chain ${chainName('ep', i, j)} { ip saddr ${e.address} jump mark-for-masquerade; meta l4proto ${s.protocol} dnat to ${e.address}:${e.port}; }`);
      });
    });
    lines.push('}');
    if (chunk.length > 0) {
      lines.push(`add element ip ${TABLE} service-ips { ${chunk.map((s, k) => `${s.clusterIP} . ${s.protocol} . ${s.port} : goto ${chainName('svc', first + k)}`).join(', ')} }`);
    }
    out.push(`${lines.join('\n')}\n`);
  }
  return out;
}

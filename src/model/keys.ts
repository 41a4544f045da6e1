/**
 * The identities both the plan and the reconciler key things by, built in one
 * place so nothing has to split a string to get a field back:
 * - a frontend: {address, port, protocol number}, the lb4_services key;
 * - a backend: {address, port, protocol number}, one lb4_backends slot, and
 *   its Maglev name "address:port" (a table has one protocol);
 * - a source range: {service id, address, prefix length}, one
 *   lb4_source_ranges entry.
 * Keys are flat strings (Map keys; a cold start holds ~100,000 of them), typed
 * apart so one kind cannot be passed where another is meant.
 */

export type ProtocolName = 'TCP' | 'UDP' | 'SCTP';

/** IANA protocol numbers, as the datapath's keys hold them. */
export const PROTOCOL_NUMBERS: Readonly<Record<ProtocolName, number>> = { TCP: 6, UDP: 17, SCTP: 132 };

export function protocolNumber(p: ProtocolName): number {
  return PROTOCOL_NUMBERS[p];
}

/** The protocols lb4_port_filter covers (bpf/include/dsrlb.h). */
export function isPortFiltered(proto: number): boolean {
  return proto === PROTOCOL_NUMBERS.TCP || proto === PROTOCOL_NUMBERS.UDP;
}

declare const brand: unique symbol;
type Key<B extends string> = string & { readonly [brand]: B };

/** "address|port|proto" of a frontend. */
export type FrontendKey = Key<'frontend'>;
/** "address|port|proto" of a backend. */
export type BackendKey = Key<'backend'>;
/** "serviceId|address/prefixlen" of a source range. */
export type SourceRangeKey = Key<'source-range'>;

/** What identifies a frontend or a backend on the wire. */
export interface L4Address {
  readonly address: string;
  readonly port: number;
  /** Protocol number. */
  readonly proto: number;
}

/*
 * join() builds one flat string where a template literal leaves a chain of
 * cons strings (about 70 bytes more per key, kept for as long as the entry is
 * programmed).
 */

export function frontendKey(address: string, port: number, proto: number): FrontendKey {
  return [address, port, proto].join('|') as FrontendKey;
}

export function frontendKeyOf(a: L4Address): FrontendKey {
  return frontendKey(a.address, a.port, a.proto);
}

export function backendKey(address: string, port: number, proto: number): BackendKey {
  return [address, port, proto].join('|') as BackendKey;
}

export function backendKeyOf(a: L4Address): BackendKey {
  return backendKey(a.address, a.port, a.proto);
}

/** A backend's identity in Maglev tables (decides its permutation): "address:port". */
export function backendName(address: string, port: number): string {
  return [address, port].join(':');
}

/** @param prefixlen as lb4_source_ranges keys hold it (the service id's bits included). */
export function sourceRangeKey(serviceId: number, address: string, prefixlen: number): SourceRangeKey {
  return `${serviceId}|${address}/${prefixlen}` as SourceRangeKey;
}

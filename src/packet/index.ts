/** Packet builders and parsers for tests and benchmarks: pure, no I/O. */
export * from './checksum.js';
export * from './ethernet.js';
export * from './flow-hash.js';
export * from './fragment.js';
export * from './frame.js';
export * from './geneve.js';
export * from './icmp.js';
export * from './ipv4-address.js';
export * from './ipv4.js';
export * from './tcp.js';
export * from './udp.js';

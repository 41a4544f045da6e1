/** lb4_source_ranges: LPM trie keyed by {prefixlen, service id, address}. */
import { ipv4, struct, u32 } from '../codec.js';

export const lb4SourceRangeKey = struct('lb4_source_range_key', { prefixlen: u32, serviceId: u32, address: ipv4 });
export type Lb4SourceRangeKey = ReturnType<typeof lb4SourceRangeKey.decode>;

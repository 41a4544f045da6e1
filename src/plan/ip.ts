/** Kept only while src/plan/keys.ts imports from here; the parser is src/net/ip.ts. */
export { ipFamilyOf } from '../net/ip.js';

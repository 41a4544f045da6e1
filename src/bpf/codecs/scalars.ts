/** Bare scalar keys/values: array indexes, ids, counters. */
import { scalar, u32, u64 } from '../codec.js';

export const u32Key = scalar(u32);
export const u32Value = scalar(u32);
export const counter = scalar(u64);

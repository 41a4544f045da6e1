/** The errors a map call fails with, made the way src/bpf reports a failed bpf() call. */
import { BpfError } from '../../bpf/errors.js';

export const ERRNO = { ENOENT: 2, EINTR: 4, EIO: 5, E2BIG: 7, EAGAIN: 11, ENOMEM: 12, EBUSY: 16, EINVAL: 22, EMFILE: 24, ENOSPC: 28 } as const;
export type ErrnoCode = keyof typeof ERRNO;

export function mapError(code: ErrnoCode, op: string, subject: string, why: string): BpfError {
  return new BpfError(ERRNO[code], code, op, `${op} failed: ${why}`, subject, undefined, '');
}

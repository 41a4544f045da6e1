import { DsrlbError } from '../errors.js';

/** What a native call threw: an Error with the fields common.cc sets. */
interface NativeErrorShape { message: string; errno?: number; code?: string; op?: string; subject?: string; libbpfLog?: string }

function isNativeError(e: unknown): e is NativeErrorShape & Error {
  return e instanceof Error && typeof (e as NativeErrorShape).errno === 'number';
}

const VERIFIER_TAIL_LINES = 25;

/** A failed bpf() / libbpf call, with errno, the object it was about and a remedy. */
export class BpfError extends DsrlbError {
  readonly errno: number;
  readonly op: string;
  /** Last lines of libbpf's output during the call (the verifier log on a rejected load). */
  readonly libbpfLog: string;

  constructor(errno: number, errnoCode: string, op: string, message: string, subject: string, remedy: string | undefined, libbpfLog: string, cause?: unknown) {
    super(`ERR_BPF_${errnoCode}`, message, { subject, remedy, context: { errno, op }, cause });
    this.name = 'BpfError';
    this.errno = errno;
    this.op = op;
    this.libbpfLog = libbpfLog;
  }
}

function remedyFor(code: string, op: string, subject: string): string | undefined {
  switch (code) {
    case 'EPERM':
    case 'EACCES':
      return 'run as root (or with CAP_BPF + CAP_NET_ADMIN + CAP_SYS_ADMIN)';
    case 'ENOENT':
      if (op === 'bpf_obj_get') return 'is the agent running, and is --bpffs-root the one it uses?';
      if (op.startsWith('bpf_object__open')) return "run 'make bpf' to build the BPF objects";
      return undefined;
    case 'EINVAL':
      if (op === 'bpf_object__load') return 'the verifier or the kernel rejected the object: see the log above';
      return undefined;
    case 'ENODEV':
      return `no such network device (${subject})`;
    case 'EBUSY':
      return 'another program is attached there in a conflicting mode: detach it first';
    case 'E2BIG':
      return 'the map is full: raise its size or remove stale entries';
    case 'EOPNOTSUPP':
      return op.startsWith('bpf_xdp') ? 'the driver has no native XDP: use --xdp-mode generic' : undefined;
    default:
      return undefined;
  }
}

/** The tail of a libbpf log that matters: the last verifier lines. */
function logTail(log: string): string {
  const lines = log.trimEnd().split('\n');
  return lines.slice(-VERIFIER_TAIL_LINES).join('\n');
}

/**
 * A map pinned with another definition cannot be adopted (the agent pins each
 * build's maps under its own layout directory, so this means a pin made by
 * hand or by another loader); libbpf only says so in its log. Returns the pinned path, if that is the case.
 */
function incompatiblePin(log: string): string | undefined {
  return /couldn't reuse pinned map at '([^']+)': parameter mismatch/.exec(log)?.[1];
}

/** Converts what a native call threw into a BpfError naming `subject`; rethrows other errors. */
export function toBpfError(e: unknown, subject?: string): unknown {
  if (!isNativeError(e)) return e;
  const op = e.op ?? 'bpf';
  const code = e.code ?? 'EUNKNOWN';
  const what = subject ?? e.subject ?? '';
  const log = logTail(e.libbpfLog ?? '');
  const pin = incompatiblePin(e.libbpfLog ?? '');
  if (pin) {
    return new BpfError(e.errno ?? 0, 'PIN_MISMATCH', op, 'a pinned map has another definition than this build\'s', pin,
      'the agent keeps each build\'s maps in their own layout directory (<bpffs-root>/v<layout>), so this pin was made by hand or by another tool: remove it, or give this one its own pin root', log, e);
  }
  const base = `${op} failed: ${e.message.replace(/^[^:]*: /, '')}`;
  const message = op === 'bpf_object__load' && log ? `${base}\n${log}` : base;
  return new BpfError(e.errno ?? 0, code, op, message, what, remedyFor(code, op, what), log, e);
}

/** Runs a native call; a failure becomes a BpfError about `subject`. */
export function call<T>(subject: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw toBpfError(e, subject);
  }
}

/** BpfProgram: a loaded program; test runs and attachment. */
import { call } from './errors.js';
import { native } from './native.js';

export interface TestRunOptions {
  readonly data: Buffer;
  /** e.g. struct xdp_md for XDP (ingress ifindex, rx queue). */
  readonly ctx?: Buffer;
  /** >1 re-feeds the *rewritten* packet (docs/design.md §5): use 1 for rewriting programs. */
  readonly repeat?: number;
  /** Room for the output frame; encapsulation grows it. */
  readonly dataOutSize?: number;
}

export interface TestRunResult {
  readonly retval: number;
  readonly dataOut: Buffer;
  /** Kernel-measured mean ns per run. */
  readonly duration: number;
}

export type XdpMode = 'native' | 'generic';
/** XDP_FLAGS_* from linux/if_link.h */
const XDP_FLAGS = { generic: 1 << 1, native: 1 << 2 } as const;
/** XDP_ATTACHED_* */
const XDP_ATTACHED: Readonly<Record<number, XdpMode | 'none' | 'offload' | 'multi'>> = { 0: 'none', 1: 'native', 2: 'generic', 3: 'offload', 4: 'multi' };

/** Room an encapsulating program may add in front of a test packet. */
const DEFAULT_OUT_HEADROOM = 512;

export class BpfProgram {
  constructor(readonly name: string, readonly fd: number, readonly section: string, readonly attachType: number) {}

  get id(): number {
    return call(this.name, () => native().progInfo(this.fd).id);
  }

  testRun(opts: TestRunOptions): TestRunResult {
    const size = opts.dataOutSize ?? opts.data.length + DEFAULT_OUT_HEADROOM;
    return call(this.name, () => native().progTestRun(this.fd, opts.data, opts.ctx ?? null, opts.repeat ?? 1, size));
  }

  /** Attaches (replacing what is there in that mode); returns the mode that took. */
  attachXdp(ifindex: number, mode: XdpMode): XdpMode {
    call(`${this.name} on ifindex ${ifindex}`, () => native().xdpAttach(ifindex, this.fd, XDP_FLAGS[mode]));
    const took = xdpAttachment(ifindex).mode;
    return took === 'generic' ? 'generic' : 'native';
  }

  attachTc(ifindex: number, direction: 'ingress' | 'egress', handle = 1, priority = 1): void {
    call(`${this.name} on ifindex ${ifindex} ${direction}`, () => native().tcAttach(ifindex, direction, this.fd, handle, priority));
  }

}

export interface XdpAttachment { readonly mode: XdpMode | 'none' | 'offload' | 'multi'; readonly progId: number }

export function xdpAttachment(ifindex: number): XdpAttachment {
  const q = call(`ifindex ${ifindex}`, () => native().xdpQuery(ifindex));
  return { mode: XDP_ATTACHED[q.attachMode] ?? 'none', progId: q.progId };
}

/**
 * Every XDP program attached to the device, by mode (a device may hold a
 * native and a generic one at once).
 */
export function xdpProgramIds(ifindex: number): { readonly mode: XdpMode; readonly id: number }[] {
  const q = call(`ifindex ${ifindex}`, () => native().xdpQuery(ifindex));
  const out: { mode: XdpMode; id: number }[] = [];
  if (q.driverProgId) out.push({ mode: 'native', id: q.driverProgId });
  if (q.genericProgId) out.push({ mode: 'generic', id: q.genericProgId });
  return out;
}

/** The name of the loaded program with this id (the kernel keeps 15 characters). */
export function programName(id: number): string {
  return call(`program ${id}`, () => {
    const fd = native().progFdById(id);
    try {
      return native().progInfo(fd).name;
    } finally {
      native().closeFd(fd);
    }
  });
}

export function detachXdp(ifindex: number, mode: XdpMode): void {
  call(`ifindex ${ifindex}`, () => native().xdpDetach(ifindex, XDP_FLAGS[mode]));
}

export function tcAttachment(ifindex: number, direction: 'ingress' | 'egress', handle = 1, priority = 1): number | null {
  return call(`ifindex ${ifindex} ${direction}`, () => native().tcQuery(ifindex, direction, handle, priority));
}

export function detachTc(ifindex: number, direction: 'ingress' | 'egress', handle = 1, priority = 1): void {
  call(`ifindex ${ifindex} ${direction}`, () => native().tcDetach(ifindex, direction, handle, priority));
}

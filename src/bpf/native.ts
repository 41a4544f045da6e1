/**
 * The native addon's surface, typed. The addon is mechanical (one function per
 * libbpf call); policy, naming and friendly errors live in the files beside this.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DsrlbError } from '../errors.js';

export interface NativeProgramInfo {
  name: string; section: string; type: number; expectedAttachType: number; fd: number;
}
export interface NativeMapDesc {
  name: string; type: number; keySize: number; valueSize: number; maxEntries: number;
  flags: number; fd: number; pinPath: string | null; internal: boolean;
}
export interface NativeBtfStruct {
  size: number; members: { name: string; offset: number; size: number }[];
}
export interface NativeBpfObject {
  setRodata(variable: string, value: Buffer): void;
  setMaxEntries(map: string, maxEntries: number): void;
  reuseMapFd(map: string, fd: number): void;
  load(): void;
  programs(): NativeProgramInfo[];
  maps(): NativeMapDesc[];
  btfStruct(name: string): NativeTypeLayout | null;
  btfEnum(name: string): { name: string; value: number }[] | null;
  /** Key and value layout of every map that is not internal, from the object's BTF (before load). */
  mapLayouts(): NativeMapLayout[];
  close(): void;
}
export interface NativeTypeLayout {
  kind: 'int' | 'struct' | 'union' | 'array' | 'other'; name: string; size: number;
  members?: { name: string; offset: number; type: NativeTypeLayout }[]; elem?: NativeTypeLayout; count?: number;
}
export interface NativeMapLayout { name: string; key: NativeTypeLayout | null; value: NativeTypeLayout | null; inner: string | null }
export interface NativeMapInfo {
  type: number; id: number; name: string; keySize: number; valueSize: number; maxEntries: number; flags: number;
}
export interface NativeBatch { keys: Buffer; values: Buffer; count: number; token: Buffer; done: boolean }
/** A BPF ring buffer being read (src/bpf/monitor.ts). */
export interface NativeRingBuffer {
  /** Every record waiting, each as a u32 length (little endian here) and its bytes; null when none. */
  consume(): Buffer | null;
  close(): void;
}
export interface NativeTestRun { retval: number; dataOut: Buffer; duration: number }
export interface NativeLinkInfo { id: number; progId: number; type: number; attachType: number; cgroupId: bigint }
export interface NativeXdpQuery { attachMode: number; progId: number; driverProgId: number; genericProgId: number }

export interface Native {
  libbpfVersion(): string;
  numPossibleCpus(): number;
  BpfObject: new (path: string, pinRoot?: string) => NativeBpfObject;
  RingBuffer: new (mapFd: number) => NativeRingBuffer;
  mapLookup(fd: number, key: Buffer, valueSize: number): Buffer | null;
  mapUpdate(fd: number, key: Buffer, value: Buffer, flags: number): void;
  mapDelete(fd: number, key: Buffer): boolean;
  mapNextKey(fd: number, key: Buffer | null, keySize: number): Buffer | null;
  mapLookupBatch(fd: number, token: Buffer | null, keySize: number, valueSize: number, max: number): NativeBatch;
  mapUpdateBatch(fd: number, keys: Buffer, values: Buffer, count: number, flags: number): number;
  mapDeleteBatch(fd: number, keys: Buffer, count: number): number;
  mapInfo(fd: number): NativeMapInfo;
  mapCreate(type: number, name: string, keySize: number, valueSize: number, maxEntries: number,
    flags: number, innerMapFd?: number): number;
  objGet(path: string): number;
  objPin(fd: number, path: string): void;
  mapFdById(id: number): number;
  progFdById(id: number): number;
  closeFd(fd: number): void;
  progTestRun(fd: number, data: Buffer, ctx: Buffer | null, repeat: number, dataOutSize: number): NativeTestRun;
  progInfo(fd: number): { id: number; type: number; name: string; mapIds: number[] };
  /** Key and value layout of a kernel map from the BTF it was created with (null where it has none). */
  mapBtfLayout(fd: number): { key: NativeTypeLayout | null; value: NativeTypeLayout | null };
  ifNameToIndex(name: string): number;
  xdpAttach(ifindex: number, progFd: number, flags: number): void;
  xdpDetach(ifindex: number, flags: number): void;
  xdpQuery(ifindex: number): NativeXdpQuery;
  tcAttach(ifindex: number, direction: 'ingress' | 'egress', progFd: number, handle: number, priority: number): number;
  tcDetach(ifindex: number, direction: 'ingress' | 'egress', handle: number, priority: number): void;
  tcQuery(ifindex: number, direction: 'ingress' | 'egress', handle: number, priority: number): number | null;
  cgroupLinkCreate(cgroupPath: string, progFd: number, attachType: number): number;
  linkUpdate(linkFd: number, progFd: number): void;
  linkDetach(linkFd: number): void;
  linkInfo(linkFd: number): NativeLinkInfo;
  netnsCookie(): bigint;
  /** An exclusive non-blocking flock on a directory: the fd holding it, or -1 when held elsewhere. */
  lockDir(path: string): number;
}

/**
 * Repository root: the nearest directory above this module with a
 * package.json, so src/bpf (tsx), dist/bpf (the agent) and build/js/src/bpf
 * (compiled benchmarks) all find build/.
 */
export const projectRoot = findRoot(dirname(fileURLToPath(import.meta.url)));

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return join(from, '..', '..');
  }
}

let loaded: Native | undefined;

export function native(): Native {
  if (loaded) return loaded;
  const path = join(projectRoot, 'build', 'addon', 'Release', 'dsrlb_native.node');
  if (!existsSync(path)) {
    throw new DsrlbError('ERR_ADDON_MISSING', 'the native addon is not built', {
      subject: path, remedy: "run 'make build' (or 'make addon')",
    });
  }
  loaded = createRequire(import.meta.url)(path) as Native;
  return loaded;
}

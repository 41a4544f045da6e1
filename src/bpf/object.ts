/**
 * BpfObjectFile: open an ELF object (optionally sharing pinned maps under a
 * bpffs root), load it, and get typed programs and maps.
 */
import { DsrlbError } from '../errors.js';
import type { Codec } from './codec.js';
import { call } from './errors.js';
import { BpfMap } from './map.js';
import { native, type NativeBpfObject, type NativeBtfStruct, type NativeMapDesc, type NativeMapLayout } from './native.js';
import { BpfProgram } from './program.js';

export interface OpenOptions {
  /**
   * Directory for maps declared with LIBBPF_PIN_BY_NAME: a map already pinned
   * there is reused (a restarted agent adopts live state), otherwise it is
   * created and pinned at load.
   */
  readonly pinRoot?: string;
  /** `const volatile` globals to set before load, by name. */
  readonly rodata?: Readonly<Record<string, Buffer>>;
  /** Map sizes to override before load, by map name. */
  readonly maxEntries?: Readonly<Record<string, number>>;
}

export class BpfObjectFile {
  private handle: NativeBpfObject | undefined;

  private constructor(readonly path: string, handle: NativeBpfObject) {
    this.handle = handle;
  }

  /** Opens and loads in one step. */
  static load(path: string, opts: OpenOptions = {}): BpfObjectFile {
    const obj = BpfObjectFile.open(path, opts);
    try {
      obj.loadIntoKernel();
    } catch (e) {
      obj.close();
      throw e;
    }
    return obj;
  }

  /** Opens without loading (BTF is readable, maps can still be resized). */
  static open(path: string, opts: OpenOptions = {}): BpfObjectFile {
    const handle = call(path, () => new (native().BpfObject)(path, opts.pinRoot));
    const obj = new BpfObjectFile(path, handle);
    try {
      for (const [name, value] of Object.entries(opts.rodata ?? {})) call(`${path}: ${name}`, () => handle.setRodata(name, value));
      for (const [name, n] of Object.entries(opts.maxEntries ?? {})) call(`${path}: ${name}`, () => handle.setMaxEntries(name, n));
    } catch (e) {
      obj.close();
      throw e;
    }
    return obj;
  }

  private get h(): NativeBpfObject {
    if (!this.handle) throw new DsrlbError('ERR_BPF_CLOSED', 'object is closed', { subject: this.path });
    return this.handle;
  }

  loadIntoKernel(): void {
    call(this.path, () => this.h.load());
  }

  programNames(): string[] {
    return this.h.programs().map((p) => p.name);
  }

  program(name: string): BpfProgram {
    const p = this.h.programs().find((x) => x.name === name);
    if (!p) throw new DsrlbError('ERR_BPF_NO_PROGRAM', `no program '${name}'`, { subject: this.path, remedy: `programs: ${this.programNames().join(', ')}` });
    if (p.fd < 0) throw new DsrlbError('ERR_BPF_NOT_LOADED', `program '${name}' is not loaded`, { subject: this.path });
    return new BpfProgram(p.name, p.fd, p.section, p.expectedAttachType);
  }

  mapDescriptions(): NativeMapDesc[] {
    return this.h.maps();
  }

  /** A typed view of one of the object's maps (libbpf owns the fd). */
  map<K, V>(name: string, key: Codec<K>, value: Codec<V>): BpfMap<K, V> {
    const m = this.h.maps().find((x) => x.name === name);
    if (!m) throw new DsrlbError('ERR_BPF_NO_MAP', `no map '${name}'`, { subject: this.path });
    if (m.fd < 0) throw new DsrlbError('ERR_BPF_NOT_LOADED', `map '${name}' is not loaded`, { subject: this.path });
    return new BpfMap(m.fd, key, value, false, name);
  }

  /** Key and value layouts of the object's maps, from its BTF (src/bpf/layout.ts). */
  mapLayouts(): NativeMapLayout[] {
    return this.h.mapLayouts();
  }

  /** A struct's size and members (byte offsets, sizes), from the object's BTF. */
  btfStruct(name: string): NativeBtfStruct | null {
    const l = this.h.btfStruct(name);
    return l && { size: l.size, members: (l.members ?? []).map((m) => ({ name: m.name, offset: m.offset, size: m.type.size })) };
  }

  btfEnum(name: string): { name: string; value: number }[] | null {
    return this.h.btfEnum(name);
  }

  /** Releases every fd of the object; pinned maps and attached programs stay in the kernel. */
  close(): void {
    this.handle?.close();
    this.handle = undefined;
  }
}

/**
 * Kernel tests need root. They never skip silently: without root they fail
 * with one line that says so (CI runs as root).
 */
import type { ExecutionContext } from 'ava';

export function requireRoot(t: ExecutionContext): void {
  if (process.getuid?.() !== 0) {
    t.fail('this test needs root (bpf(), bpffs, network namespaces): run `make test` as root');
  }
}

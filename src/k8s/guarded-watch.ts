/**
 * client-node's Watch with a guard in front of the informer's event handler.
 * In 1.4 that handler (ListWatch.watchHandler) is async: an event whose object
 * has no metadata (or an ERROR without an object) makes it reject, outside
 * Watch's try/catch, and the unhandled rejection ends the whole process.
 * Here such events are reported and dropped; the stream goes on.
 * (Lines that are not JSON never get this far: Watch drops them silently.)
 */
import { Watch } from '@kubernetes/client-node';
import { isKeyed } from './list.js';

type EventCallback = (phase: string, apiObj: unknown, watchObj?: unknown) => void;

export class GuardedWatch extends Watch {
  constructor(config: Watch['config'], private readonly onMalformed: (phase: string, reason: string) => void) {
    super(config);
  }

  override watch(
    path: string, queryParams: Record<string, string | number | boolean | undefined>, callback: EventCallback, done: (err: unknown) => void,
  ): Promise<AbortController> {
    const guarded: EventCallback = (phase, obj, raw) => {
      const reason = malformed(phase, obj);
      if (reason !== undefined) {
        this.onMalformed(phase, reason);
        return;
      }
      // The informer's handler is async; never let it reject unobserved.
      const r: unknown = callback(phase, obj, raw);
      if (r instanceof Promise) r.catch((e: unknown) => this.onMalformed(phase, e instanceof Error ? e.message : String(e)));
    };
    return super.watch(path, queryParams, guarded, done);
  }
}

function malformed(phase: string, obj: unknown): string | undefined {
  switch (phase) {
    case 'ADDED':
    case 'MODIFIED':
    case 'DELETED':
      return isKeyed(obj) ? undefined : 'the object has no metadata.name';
    case 'BOOKMARK':
    case 'ERROR':
      return typeof obj === 'object' && obj !== null ? undefined : 'the event carries no object';
    default:
      return `unknown event type ${JSON.stringify(phase)}`;
  }
}

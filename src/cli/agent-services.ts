/** The agent's GET /v1/services on its --health-addr (src/agent/services-endpoint.ts), as lbctl reads it. */
import type { ServicesBody } from '../agent/services-endpoint.js';
import { SERVICES_PATH } from '../agent/services-endpoint.js';

/** The agent's /v1/services, or why it could not be read. */
export async function agentServices(addr: string): Promise<{ body: ServicesBody } | { error: string }> {
  try {
    const res = await fetch(`http://${addr}${SERVICES_PATH}`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return { error: `${addr}${SERVICES_PATH} answered ${res.status}` };
    return { body: (await res.json()) as ServicesBody };
  } catch (e) {
    return { error: `${addr}: ${e instanceof Error ? e.message : String(e)}` };
  }
}

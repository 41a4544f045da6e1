/**
 * The programs the lab starts inside its namespaces, by path. They run from
 * the compiled tree (dist/, `make build`), whether the lab itself runs from
 * dist (lbctl) or from src under tsx (the tests, which `make test` builds
 * for first).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BpfObjects } from '../bpf/objects.js';
import { projectRoot } from '../bpf/native.js';
import { DsrlbError } from '../errors.js';

export const LabEntries = {
  podServer: join(projectRoot, 'dist', 'lab', 'pod-server.js'),
  clientTool: join(projectRoot, 'dist', 'lab', 'client-tool.js'),
  socketClient: join(projectRoot, 'dist', 'lab', 'socket-client.js'),
  byteServer: join(projectRoot, 'dist', 'lab', 'byte-server.js'),
  attachXdpPass: join(projectRoot, 'dist', 'lab', 'attach-xdp-pass.js'),
  agent: join(projectRoot, 'bin', 'dsrlb-agent.js'),
  agentMain: join(projectRoot, 'dist', 'agent', 'main.js'),
  /** tools/syn-ack-flood.c, built by `make build`. */
  synAckFlood: join(projectRoot, 'build', 'tools', 'syn-ack-flood'),
  xdpPassObject: BpfObjects.xdpPass,
} as const;

/** Fails with one line naming what is missing when a program the lab needs is not built. */
export function requireBuilt(...which: (keyof typeof LabEntries)[]): void {
  for (const key of which) {
    const path = LabEntries[key];
    if (!existsSync(path)) {
      throw new DsrlbError('ERR_LAB_NOT_BUILT', `${path} does not exist`, {
        subject: key, remedy: key === 'agent' || key === 'agentMain' ? 'the agent is not built yet: run make build' : 'run make build',
      });
    }
  }
}

/** The node binary running this process, so children use the same Node.js. */
export const NODE = process.execPath;

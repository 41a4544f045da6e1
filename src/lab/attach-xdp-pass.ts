/**
 * Attaches the `xdp_pass` program to devices of the namespace it runs in:
 *   ip netns exec NS node dist/lab/attach-xdp-pass.js DEV...
 * A veth delivers a frame its peer sent with XDP_TX only when it has an XDP
 * program itself (docs/design.md §7), so the lab puts this one on the fabric side
 * of every node uplink. The attachment (netlink) outlives this process and
 * goes with the device.
 */
import { pathToFileURL } from 'node:url';
import { BpfObjectFile, BpfObjects, ifindex, type XdpMode } from '../bpf/index.js';

export function attachXdpPass(devices: readonly string[]): Record<string, XdpMode> {
  const obj = BpfObjectFile.load(BpfObjects.xdpPass);
  try {
    const prog = obj.program('xdp_pass');
    return Object.fromEntries(devices.map((d) => [d, prog.attachXdp(ifindex(d), 'native')]));
  } finally {
    obj.close();
  }
}

const main = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (main) {
  try {
    process.stdout.write(`${JSON.stringify(attachXdpPass(process.argv.slice(2)))}\n`);
  } catch (e) {
    process.stderr.write(`attach-xdp-pass: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}

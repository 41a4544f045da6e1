/** Network devices by name, in this process's network namespace. */
import { readFileSync } from 'node:fs';
import { DsrlbError } from '../errors.js';

export function ifindex(name: string): number {
  try {
    return Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim());
  } catch (e) {
    throw new DsrlbError('ERR_NO_DEVICE', 'no such network device', {
      subject: name, remedy: 'check --devices against `ip link`', cause: e,
    });
  }
}

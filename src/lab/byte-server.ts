/**
 * The benchmark's pod server: as little work per connection as a server can
 * do, so a connection's setup cost is what is measured. TCP: one byte on
 * accept, then the server closes (its side keeps the TIME_WAIT, not the
 * client's). UDP: every datagram echoed.
 * Usage: node dist/lab/byte-server.js PORT (TCP and UDP); prints "ready".
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { pathToFileURL } from 'node:url';

const BYTE = Buffer.from('b');

export async function startByteServer(port: number): Promise<() => void> {
  const tcp = createServer({ noDelay: true }, (s) => {
    s.on('error', () => undefined);
    s.end(BYTE);
  });
  const udp = createSocket('udp4');
  udp.on('message', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
  await Promise.all([
    new Promise<void>((resolve, reject) => { tcp.once('error', reject); tcp.listen({ port, host: '0.0.0.0', backlog: 4096 }, resolve); }),
    new Promise<void>((resolve, reject) => { udp.once('error', reject); udp.bind(port, '0.0.0.0', resolve); }),
  ]);
  return () => { tcp.close(); udp.close(); };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  startByteServer(Number(process.argv[2] ?? 8080)).then(
    () => process.stdout.write('ready\n'),
    (e: unknown) => { process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`); process.exitCode = 1; },
  );
}

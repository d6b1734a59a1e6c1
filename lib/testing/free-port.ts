import { createServer } from 'node:net';

/**
 * A loopback port that was free a moment ago. Host tests need their webhook URL before the module
 * is built, so they pick the port first and listen on it afterwards.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** What every local fake of a provider's API does the same way: read a request body, listen, close. */
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const readBody = async (request: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

/** Listens on a free loopback port; answers the base URL and a close that does not wait for keep-alives. */
export const listenLocally = async (server: Server): Promise<{ readonly baseUrl: string; close(): Promise<void> }> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

/**
 * Serves each connector's provider sandbox under `/sandbox/<channel>/…`, so that with development
 * credentials an agent's reply goes all the way to `sent` without a real provider account.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getConnector } from '../connectors/registry.ts';
import type { Log } from '../domain/ports.ts';

export const mountSandboxes =
  (log: Log) =>
  async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<boolean> => {
    const match = /^\/sandbox\/([a-z]+)(\/.*)$/.exec(new URL(req.url ?? '/', 'http://local').pathname);
    if (!match?.[1] || !match[2]) return false;
    const sandbox = getConnector(match[1])?.sandbox;
    if (!sandbox) return false;
    const answer = sandbox.handle({ method: req.method ?? 'GET', path: match[2], body });
    log.info(`${match[1]} ${answer.summary}`);
    if (Buffer.isBuffer(answer.body)) {
      // Media downloads: the provider serves the bytes themselves.
      res.writeHead(answer.statusCode, { 'content-type': answer.contentType ?? 'application/octet-stream' });
      res.end(answer.body);
      return true;
    }
    res.writeHead(answer.statusCode, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer.body));
    return true;
  };

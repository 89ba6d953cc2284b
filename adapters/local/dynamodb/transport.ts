/**
 * The engine's two doors, both speaking DynamoDB's JSON protocol (`X-Amz-Target: DynamoDB_20120810.<Operation>`,
 * `application/x-amz-json-1.0`): an SDK v3 request handler that calls the engine in this thread (no socket, no
 * HTTP parsing), and an HTTP server for clients in other threads. Errors go out as DynamoDB sends them (status,
 * `__type` in the body, `x-amzn-ErrorType`), so the SDK raises its modelled exception classes.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.LowLevelAPI.html
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import type { HttpRequest, HttpResponse, RequestHandler } from '@smithy/types';
import { DynamoError, fromDynalite, serializationError, unknownOperation } from './errors.ts';

/** Runs an operation on a request (which it may change); rejects with a DynamoError. */
export type Dispatch = (operation: string, input: unknown) => Promise<unknown>;

const TARGET = /^DynamoDB_20120810\.([A-Za-z]+)$/;
const CONTENT_TYPE = 'application/x-amz-json-1.0';
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

interface Answer {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

const requestId = (): string => randomBytes(39).toString('base64').toUpperCase().replace(/[+/]/g, '0');

/** Runs the request named by its target header on its JSON body, and shapes the answer or the error. */
const answer = async (dispatch: Dispatch, target: string | undefined, body: string): Promise<Answer> => {
  let status = 200;
  let payload: unknown;
  try {
    const operation = TARGET.exec(target ?? '')?.[1];
    if (!operation) throw unknownOperation();
    let input: unknown;
    try {
      input = JSON.parse(body || 'null');
    } catch {
      throw serializationError('Unexpected end of input or malformed JSON');
    }
    payload = await dispatch(operation, input);
  } catch (error) {
    const failure = error instanceof DynamoError ? error : fromDynalite(error);
    status = failure.statusCode;
    payload = failure.body;
  }
  const json = Buffer.from(JSON.stringify(payload), 'utf8');
  const headers: Record<string, string> = {
    'content-type': CONTENT_TYPE,
    'content-length': String(json.length),
    'x-amzn-requestid': requestId(),
    'x-amz-crc32': String(crc32(json)),
  };
  if (status !== 200) {
    const type = (payload as { __type: string }).__type;
    headers['x-amzn-errortype'] = type.slice(type.indexOf('#') + 1);
  }
  return { statusCode: status, headers, body: json };
};

const header = (headers: Record<string, string | undefined>, name: string): string | undefined => {
  if (headers[name] !== undefined) return headers[name];
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
};

const bodyText = (body: unknown): string => {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  throw new Error('the in-process DynamoDB handler takes string or byte bodies only');
};

/** An SDK v3 `requestHandler` that answers from the engine in this thread. */
export const createRequestHandler = (dispatch: Dispatch): RequestHandler<HttpRequest, HttpResponse> => ({
  metadata: { handlerProtocol: 'in-process' },
  handle: async (request: HttpRequest) => {
    const { statusCode, headers, body } = await answer(dispatch, header(request.headers, 'x-amz-target'), bodyText(request.body));
    return { response: { statusCode, headers, body } as HttpResponse };
  },
});

const readBody = (request: IncomingMessage): Promise<string | undefined> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        request.removeAllListeners('data');
        request.resume();
        resolve(undefined);
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });

/** Serves the engine over HTTP on `host:port` (0 picks a free port). */
export const listen = async (port: number, host: string, dispatch: Dispatch): Promise<{ readonly url: string; close(): Promise<void> }> => {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      if (request.method === 'GET') {
        // DynamoDB's health answer, which some tools probe.
        response.writeHead(200, { 'content-type': 'text/plain' }).end('healthy: dynamodb.us-east-1.amazonaws.com ');
        return;
      }
      const body = await readBody(request);
      if (body === undefined) {
        response.writeHead(413).end();
        return;
      }
      const target = request.headers['x-amz-target'];
      const result = await answer(dispatch, Array.isArray(target) ? target[0] : target, body);
      response.writeHead(result.statusCode, result.headers).end(result.body);
    })().catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Keep-alive sockets would hold close() open until they time out.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
};

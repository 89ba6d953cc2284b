/**
 * A local stand-in for api.line.me: records every push and reply and answers like the Messaging API
 * (`{sentMessages: [{id, quoteToken}]}`), answers a retry key it has already accepted with 409 and the
 * accepted request's `sentMessages` (as LINE documents), or whatever a test scripts next.
 * @see https://developers.line.biz/en/docs/messaging-api/retrying-api-request/
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLocally, readBody } from './fake-server.ts';
import { ProviderChaos, type ChaosOptions } from './provider-chaos.ts';

export interface RecordedLineCall {
  readonly path: string;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly retryKey: string | undefined;
  readonly body: Record<string, unknown>;
}

export interface ScriptedLineAnswer {
  readonly status: number;
  /** A JSON value, or a raw string sent as is (for proxies answering HTML). */
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Never answer: for timeouts. */
  readonly hang?: boolean;
}

export interface FakeLine {
  readonly baseUrl: string;
  readonly calls: RecordedLineCall[];
  /** Content downloads (`GET /v2/bot/message/{id}/content`); each answers `jpeg bytes of <id>` as image/jpeg. */
  readonly contentCalls: { readonly messageId: string; readonly authorization: string | undefined }[];
  /** Answers the next call with this instead of a success (message ids count up from 700000000000000001). */
  answerNext(answer: ScriptedLineAnswer): void;
  /** Limits and scripted failures, as the Messaging API would answer them (see provider-chaos.ts). */
  readonly chaos: ProviderChaos;
  reset(): void;
  close(): Promise<void>;
}

const FIRST_ID = 700_000_000_000_000_001n;

export const startFakeLine = async (chaosOptions: ChaosOptions = {}): Promise<FakeLine> => {
  // LINE's rate-limit answer; it sends no Retry-After. @see https://developers.line.biz/en/reference/messaging-api/#status-codes
  const chaos = new ProviderChaos({
    limitAnswer: () => ({ status: 429, body: { message: 'The API rate limit has been exceeded. Try again later.' } }),
    ...chaosOptions,
  });
  const calls: RecordedLineCall[] = [];
  const contentCalls: { messageId: string; authorization: string | undefined }[] = [];
  const scripted: ScriptedLineAnswer[] = [];
  const accepted = new Map<string, unknown>();
  let nextId = FIRST_ID;

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      const raw = await readBody(request);
      const path = request.url ?? '';
      const send = (status: number, body: unknown, headers: Readonly<Record<string, string>> = {}) => {
        response.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/html' : 'application/json', ...headers });
        response.end(typeof body === 'string' ? body : JSON.stringify(body));
      };
      const content = /^\/v2\/bot\/message\/(\d+)\/content$/.exec(path);
      if (request.method === 'GET' && content) {
        contentCalls.push({ messageId: content[1]!, authorization: request.headers.authorization });
        const answer = scripted.shift();
        if (answer) {
          send(answer.status, answer.body, answer.headers);
          return;
        }
        response.writeHead(200, { 'content-type': 'image/jpeg' });
        response.end(Buffer.from(`jpeg bytes of ${content[1]}`));
        return;
      }
      if (request.method !== 'POST' || (path !== '/v2/bot/message/push' && path !== '/v2/bot/message/reply')) {
        send(404, { message: 'Not found' });
        return;
      }
      const header = (name: string) => {
        const value = request.headers[name];
        return Array.isArray(value) ? value.join(',') : value;
      };
      const call: RecordedLineCall = {
        path,
        authorization: header('authorization'),
        contentType: header('content-type'),
        retryKey: header('x-line-retry-key'),
        body: JSON.parse(raw) as Record<string, unknown>,
      };
      calls.push(call);
      const answer = scripted.shift();
      if (answer?.hang) return;
      if (answer) {
        send(answer.status, answer.body, answer.headers);
        return;
      }
      if (
        !chaos.handle(
          { method: path.endsWith('/push') ? 'push' : 'reply', conversation: String(call.body['to'] ?? ''), body: call.body },
          response,
          request,
        )
      )
        return;
      const earlier = call.retryKey ? accepted.get(call.retryKey) : undefined;
      if (earlier !== undefined) {
        send(409, { message: 'The retry key is already accepted', ...(earlier as object) }, { 'x-line-accepted-request-id': 'accepted-1' });
        return;
      }
      const messages = Array.isArray(call.body['messages']) ? call.body['messages'] : [];
      const sentMessages = messages.map(() => ({ id: String(nextId++), quoteToken: `qt-${nextId}` }));
      if (call.retryKey) accepted.set(call.retryKey, { sentMessages });
      send(200, { sentMessages });
    })();
  });
  const listening = await listenLocally(server);

  return {
    baseUrl: listening.baseUrl,
    calls,
    contentCalls,
    answerNext: (answer) => scripted.push(answer),
    chaos,
    reset: () => {
      nextId = FIRST_ID;
      calls.length = 0;
      contentCalls.length = 0;
      scripted.length = 0;
      accepted.clear();
    },
    close: listening.close,
  };
};

/**
 * A local stand-in for api.telegram.org: records every Bot API call and answers like the Bot API
 * (`{ok: true, result}` with a sent Message, or whatever a test scripts next).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  readonly method: string;
  /** The token as it appeared in the path `/bot<token>/<method>`. */
  readonly token: string;
  readonly contentType: string | undefined;
  readonly body: Record<string, unknown>;
}

export interface ScriptedAnswer {
  readonly status: number;
  /** A JSON value, or a raw string sent as is (for proxies answering HTML). */
  readonly body: unknown;
  /** Never answer: for timeouts. */
  readonly hang?: boolean;
}

export interface FakeTelegram {
  readonly baseUrl: string;
  readonly calls: RecordedCall[];
  /** Answers the next call with this instead of a success (message ids count up from 5000 per test). */
  answerNext(answer: ScriptedAnswer): void;
  reset(): void;
  close(): Promise<void>;
}

const readBody = async (request: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

export const startFakeTelegram = async (): Promise<FakeTelegram> => {
  const calls: RecordedCall[] = [];
  const scripted: ScriptedAnswer[] = [];
  let nextMessageId = 5000;

  const succeed = (call: RecordedCall): unknown => {
    if (call.method === 'answerCallbackQuery') return true;
    const messageId = nextMessageId++;
    return { message_id: messageId, date: 1773450000, chat: { id: call.body['chat_id'], type: 'private' } };
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(request.url ?? '');
      const raw = await readBody(request);
      if (!match || request.method !== 'POST') {
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ ok: false, error_code: 404, description: 'Not Found' }));
        return;
      }
      const call: RecordedCall = {
        token: decodeURIComponent(match[1]!),
        method: match[2]!,
        contentType: request.headers['content-type'],
        body: JSON.parse(raw) as Record<string, unknown>,
      };
      calls.push(call);
      const answer = scripted.shift();
      if (answer?.hang) return;
      const status = answer?.status ?? 200;
      const body = answer ? answer.body : { ok: true, result: succeed(call) };
      response.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/html' : 'application/json' });
      response.end(typeof body === 'string' ? body : JSON.stringify(body));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    calls,
    answerNext: (answer) => scripted.push(answer),
    reset: () => {
      nextMessageId = 5000;
      calls.length = 0;
      scripted.length = 0;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

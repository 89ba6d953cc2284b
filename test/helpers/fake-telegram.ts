/**
 * A local stand-in for api.telegram.org: records every Bot API call and answers like the Bot API
 * (`{ok: true, result}` with a sent Message, or whatever a test scripts next).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLocally, readBody } from './fake-server.ts';
import { ProviderChaos, type ChaosOptions } from './provider-chaos.ts';

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

/** What the fake serves for every file download (`/file/bot<token>/<file_path>`): a JPEG's first bytes. */
export const FAKE_TELEGRAM_FILE = Buffer.from('ffd8ffe000104a46494600010100000100010000ffdb0043', 'hex');

export interface FakeTelegram {
  readonly baseUrl: string;
  readonly calls: RecordedCall[];
  /** File downloads, in order: the token and the file path of each. */
  readonly downloads: { readonly token: string; readonly path: string }[];
  /** Answers the next call with this instead of a success (message ids count up from 5000 per test). */
  answerNext(answer: ScriptedAnswer): void;
  /** Limits and scripted failures, as the Bot API would answer them (see provider-chaos.ts); absent: none. */
  readonly chaos: ProviderChaos;
  reset(): void;
  close(): Promise<void>;
}

/** The Bot API's flood-control answer. @see https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this */
export const telegramTooManyRequests = (retryAfter: number) => ({
  status: 429,
  body: {
    ok: false,
    error_code: 429,
    description: `Too Many Requests: retry after ${retryAfter}`,
    parameters: { retry_after: retryAfter },
  },
});

export const startFakeTelegram = async (chaosOptions: ChaosOptions = {}): Promise<FakeTelegram> => {
  const chaos = new ProviderChaos({ limitAnswer: telegramTooManyRequests, ...chaosOptions });
  const calls: RecordedCall[] = [];
  const downloads: { token: string; path: string }[] = [];
  const scripted: ScriptedAnswer[] = [];
  let nextMessageId = 5000;

  const succeed = (call: RecordedCall): unknown => {
    if (call.method === 'answerCallbackQuery') return true;
    // getFile names a path to download the file from, as the Bot API does.
    if (call.method === 'getFile') {
      return {
        file_id: call.body['file_id'],
        file_unique_id: 'AQADfake',
        file_size: FAKE_TELEGRAM_FILE.length,
        file_path: 'photos/file_0.jpg',
      };
    }
    const messageId = nextMessageId++;
    return { message_id: messageId, date: 1773450000, chat: { id: call.body['chat_id'], type: 'private' } };
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(request.url ?? '');
      const raw = await readBody(request);
      const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(request.url ?? '');
      if (file && request.method === 'GET') {
        downloads.push({ token: decodeURIComponent(file[1]!), path: file[2]! });
        response.writeHead(200, { 'content-type': 'image/jpeg' });
        response.end(FAKE_TELEGRAM_FILE);
        return;
      }
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
      if (
        !answer &&
        !chaos.handle({ method: call.method, conversation: String(call.body['chat_id'] ?? ''), body: call.body }, response, request)
      )
        return;
      const status = answer?.status ?? 200;
      const body = answer ? answer.body : { ok: true, result: succeed(call) };
      response.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/html' : 'application/json' });
      response.end(typeof body === 'string' ? body : JSON.stringify(body));
    })();
  });
  const listening = await listenLocally(server);

  return {
    baseUrl: listening.baseUrl,
    calls,
    downloads,
    answerNext: (answer) => scripted.push(answer),
    chaos,
    reset: () => {
      nextMessageId = 5000;
      calls.length = 0;
      downloads.length = 0;
      scripted.length = 0;
    },
    close: listening.close,
  };
};

import { createServer } from 'node:http';
import { listenLocally, readBody } from './fake-server.ts';
import { ProviderChaos, type ChaosOptions } from './provider-chaos.ts';

/**
 * A stand-in for Kakao's chatbot API as a `fetch`: records every call (URL, headers, JSON body) and answers
 * like the Event API and callback endpoints (`{taskId, status: "SUCCESS"}`), or whatever a test scripts next.
 */

export interface KakaoCall {
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

export interface ScriptedKakaoAnswer {
  readonly status: number;
  /** A JSON value, or a raw string sent as is. */
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Fail like a network error (connection refused) instead of answering. */
  readonly networkError?: boolean;
}

export interface FakeKakao {
  readonly fetch: typeof globalThis.fetch;
  readonly calls: KakaoCall[];
  answerNext(answer: ScriptedKakaoAnswer): void;
}

export const fakeKakao = (): FakeKakao => {
  const calls: KakaoCall[] = [];
  const scripted: ScriptedKakaoAnswer[] = [];
  let nextTask = 1;
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const text = typeof init?.body === 'string' ? init.body : '';
    calls.push({
      url: String(input),
      method: init?.method ?? 'GET',
      headers,
      body: text === '' ? undefined : (JSON.parse(text) as unknown),
    });
    const answer = scripted.shift();
    if (answer?.networkError) {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    }
    const status = answer?.status ?? 200;
    const body = answer ? answer.body : { taskId: `task-${nextTask++}`, status: 'SUCCESS', timestamp: 1773450000000 };
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', ...answer?.headers },
    });
  };
  return { fetch, calls, answerNext: (answer) => scripted.push(answer) };
};

/**
 * The Event API on loopback, for runs through real HTTP (`KAKAO_API_BASE_URL`): answers
 * `POST /v2/bots/{botId}/talk` with a task id, under the given limits and scripted failures.
 */
export const startFakeKakaoServer = async (chaosOptions: ChaosOptions = {}) => {
  const chaos = new ProviderChaos({
    limitAnswer: () => ({ status: 429, body: { code: -429, message: 'too many requests' } }),
    ...chaosOptions,
  });
  const calls: { path: string; body: Record<string, unknown> }[] = [];
  let nextTask = 1;
  const server = createServer((request, response) => {
    void (async () => {
      const body = JSON.parse((await readBody(request)) || '{}') as Record<string, unknown>;
      const path = request.url ?? '';
      calls.push({ path, body });
      const user = (body['user'] as { id?: string }[] | undefined)?.[0]?.id ?? '';
      if (!chaos.handle({ method: 'talk', conversation: user, body }, response, request)) return;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ taskId: `task-${nextTask++}`, status: 'SUCCESS', timestamp: Date.now() }));
    })();
  });
  const listening = await listenLocally(server);
  return { baseUrl: listening.baseUrl, calls, chaos, close: listening.close };
};

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
    calls.push({ url: String(input), method: init?.method ?? 'GET', headers, body: text === '' ? undefined : (JSON.parse(text) as unknown) });
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

/**
 * A fetch that stands in for the Graph API's messages endpoint: records each call (URL, headers, JSON
 * body) and answers with the next scripted response, or like the Graph API (a fresh wamid) when none is
 * scripted. Tests hand it to the sender as `SendContext.fetch`.
 */
export interface GraphCall {
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Record<string, unknown>;
}

export interface ScriptedAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

export interface FakeGraph {
  readonly fetch: typeof globalThis.fetch;
  readonly calls: GraphCall[];
  /** Answers the next calls with these, in order; then back to success. A thrown Error fails the fetch. */
  script(...answers: (ScriptedAnswer | Error)[]): void;
  reset(): void;
}

export const createFakeGraph = (): FakeGraph => {
  const calls: GraphCall[] = [];
  let queue: (ScriptedAnswer | Error)[] = [];
  let next = 1;
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const body = JSON.parse(String(init?.body ?? '{}')) as Record<string, unknown>;
    calls.push({ url: String(input), method: init?.method ?? 'GET', headers, body });
    const answer = queue.shift();
    if (answer instanceof Error) throw answer;
    if (answer !== undefined) {
      return new Response(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body), {
        status: answer.status,
        headers: { 'content-type': 'application/json', ...answer.headers },
      });
    }
    const to = String(body['to']);
    const id = `wamid.FAKE${String(next++).padStart(4, '0')}`;
    return Response.json({ messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: to }], messages: [{ id }] });
  };
  return {
    fetch,
    calls,
    script: (...answers) => {
      queue.push(...answers);
    },
    reset: () => {
      calls.length = 0;
      queue = [];
    },
  };
};

/** A Graph API error body as Meta sends it. */
export const graphError = (code: number, message: string, extra: Record<string, unknown> = {}) => ({
  error: { message, type: 'OAuthException', code, fbtrace_id: 'AXsgnV2Cm3ZMGF3dF_cfYIn', ...extra },
});

/**
 * A local stand-in for the Graph API Send endpoint (graph.facebook.com for Messenger, graph.instagram.com
 * for Instagram): records every call and answers like the Send API (`{recipient_id, message_id}`), or
 * with whatever a test scripts next (Graph error bodies, proxies' HTML, usage headers).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLocally, readBody } from './fake-server.ts';
import { ProviderChaos, type ChaosOptions } from './provider-chaos.ts';

export interface GraphCall {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly body: Record<string, unknown>;
}

export interface ScriptedGraphAnswer {
  readonly status: number;
  /** A JSON value, or a raw string sent as is. */
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Never answer: for timeouts. */
  readonly hang?: boolean;
}

export interface FakeGraph {
  readonly baseUrl: string;
  readonly calls: GraphCall[];
  /**
   * Answers the next call with this instead of a success (message ids count `m_fake_1`, `m_fake_2`… per test;
   * WhatsApp sends, recognized by `messaging_product`, get `wamid.FAKE…` ids in WhatsApp's answer).
   */
  answerNext(answer: ScriptedGraphAnswer): void;
  /** Limits and scripted failures, as the Graph API would answer them (see provider-chaos.ts). */
  readonly chaos: ProviderChaos;
  reset(): void;
  close(): Promise<void>;
}

/** Graph's throttling answer: WhatsApp's throughput error 130429. */
export const graphTooManyRequests = () => ({
  status: 400,
  body: { error: { message: '(#130429) Rate limit hit', type: 'OAuthException', code: 130429, fbtrace_id: 'AXfake' } },
});

export const startFakeGraph = async (chaosOptions: ChaosOptions = {}): Promise<FakeGraph> => {
  const chaos = new ProviderChaos({ limitAnswer: graphTooManyRequests, ...chaosOptions });
  const calls: GraphCall[] = [];
  const scripted: ScriptedGraphAnswer[] = [];
  let next = 1;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      const raw = await readBody(request);
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        body = { unparsed: raw };
      }
      const call: GraphCall = {
        method: request.method ?? '',
        path: request.url ?? '',
        authorization: request.headers.authorization,
        contentType: request.headers['content-type'],
        body,
      };
      calls.push(call);
      const answer = scripted.shift();
      if (answer?.hang) return;
      const whatsapp = body['messaging_product'] === 'whatsapp';
      const recipient = whatsapp ? String(body['to']) : (body['recipient'] as { id?: string } | undefined)?.id;
      if (!answer && !chaos.handle({ method: whatsapp ? 'messages' : 'send', conversation: recipient ?? '', body }, response, request))
        return;
      const status = answer?.status ?? 200;
      const id = next++;
      const payload = answer
        ? answer.body
        : whatsapp
          ? {
              messaging_product: 'whatsapp',
              contacts: [{ input: recipient, wa_id: recipient }],
              messages: [{ id: `wamid.FAKE${String(id).padStart(4, '0')}` }],
            }
          : { recipient_id: recipient, message_id: `m_fake_${id}` };
      response.writeHead(status, {
        'content-type': typeof payload === 'string' ? 'text/html' : 'application/json',
        ...answer?.headers,
      });
      response.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
    })();
  });
  const listening = await listenLocally(server);
  return {
    baseUrl: listening.baseUrl,
    calls,
    answerNext: (answer) => scripted.push(answer),
    chaos,
    reset: () => {
      next = 1;
      calls.length = 0;
      scripted.length = 0;
    },
    close: listening.close,
  };
};

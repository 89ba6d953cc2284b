/**
 * A local stand-in for the Graph API Send endpoint (graph.facebook.com for Messenger, graph.instagram.com
 * for Instagram): records every call and answers like the Send API (`{recipient_id, message_id}`), or
 * with whatever a test scripts next (Graph error bodies, proxies' HTML, usage headers).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLocally, readBody } from './fake-server.ts';

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
  /** Answers the next call with this instead of a success (message ids count `m_fake_1`, `m_fake_2`… per test). */
  answerNext(answer: ScriptedGraphAnswer): void;
  reset(): void;
  close(): Promise<void>;
}

export const startFakeGraph = async (): Promise<FakeGraph> => {
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
      const status = answer?.status ?? 200;
      const recipient = (body['recipient'] as { id?: string } | undefined)?.id;
      const payload = answer ? answer.body : { recipient_id: recipient, message_id: `m_fake_${next++}` };
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
    reset: () => {
      next = 1;
      calls.length = 0;
      scripted.length = 0;
    },
    close: listening.close,
  };
};

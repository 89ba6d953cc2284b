/**
 * An integrator's webhook receiver, for tests: a real node:http server on 127.0.0.1 that records every request
 * as it came (headers, raw body, when) and answers as the test says: a status, after a delay, or never (a
 * receiver that hangs until the sender gives up). `verify` checks a request as a receiver would, with the
 * `standardwebhooks` library.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { listenLocally, readBody } from './fake-server.ts';

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** `Date.now()` when the body had arrived. */
  readonly at: number;
}

/**
 * What the receiver answers a request: a status (after `delayMs`), `'hang'` (no answer at all), or `'reset'`
 * (the connection dropped without an answer).
 */
export type ReceiverAnswer = number | 'hang' | 'reset' | { readonly status: number; readonly delayMs?: number; readonly body?: string };

export interface Receiver {
  /** `http://127.0.0.1:<port>/hook` */
  readonly url: string;
  readonly port: number;
  readonly received: ReceivedRequest[];
  /** How the next requests are answered; 200 by default. */
  answer: (request: ReceivedRequest) => ReceiverAnswer | Promise<ReceiverAnswer>;
  /** Resolves with the `n`th request (1-based) once it has arrived. */
  nth(n: number, timeoutMs?: number): Promise<ReceivedRequest>;
  close(): Promise<void>;
}

export const startReceiver = async (answer: Receiver['answer'] = () => 200): Promise<Receiver> => {
  const received: ReceivedRequest[] = [];
  const waiters: (() => void)[] = [];
  const state = { answer };
  const server = createServer(async (request, response) => {
    const body = await readBody(request);
    const entry: ReceivedRequest = {
      method: request.method ?? '',
      path: request.url ?? '',
      headers: request.headers,
      body,
      at: Date.now(),
    };
    received.push(entry);
    for (const wake of waiters.splice(0)) wake();
    const decided = await state.answer(entry);
    if (decided === 'hang') return;
    if (decided === 'reset') return void request.socket.destroy();
    const { status, delayMs = 0, body: answerBody = '' } = typeof decided === 'number' ? { status: decided } : decided;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    response.writeHead(status, { 'content-type': 'text/plain' }).end(answerBody);
  });
  const listening = await listenLocally(server);
  const port = Number(new URL(listening.baseUrl).port);
  return {
    url: `${listening.baseUrl}/hook`,
    port,
    received,
    get answer() {
      return state.answer;
    },
    set answer(next) {
      state.answer = next;
    },
    nth: async (n, timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      while (received.length < n) {
        if (Date.now() > deadline) throw new Error(`the receiver got ${received.length} request(s), not ${n}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return received[n - 1] as ReceivedRequest;
    },
    close: () => listening.close(),
  };
};

/** The event a request carries, verified as a receiver verifies it; throws `WebhookVerificationError` otherwise. */
export const verifyDelivery = (
  secret: string,
  request: ReceivedRequest,
): { id: string; type: string; createdAt: string; data: Record<string, unknown> } =>
  new Webhook(secret).verify(request.body, request.headers as Record<string, string>) as {
    id: string;
    type: string;
    createdAt: string;
    data: Record<string, unknown>;
  };

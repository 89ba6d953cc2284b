/**
 * What makes a local fake of a provider's API behave like the provider on a bad day: it enforces the provider's
 * rate limits (answering 429 with the provider's own body once a window of a second is full, globally and per
 * conversation), and answers scripted calls with 5xx, 429, a timeout (the request dropped unanswered, never
 * processed) or a reset connection. It records every call it accepted with its time, so a test can check that no
 * message arrived twice and no window held more calls than the limit.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** How a fake answers one call instead of accepting it. */
export type ChaosAnswer =
  | { readonly kind: 'status'; readonly status: number; readonly body: unknown; readonly headers?: Readonly<Record<string, string>> }
  /** No answer within the client's patience: the fake holds the request, then drops it unprocessed. */
  | { readonly kind: 'timeout'; readonly afterMs: number }
  /** The connection is cut before any answer. */
  | { readonly kind: 'reset' };

export interface ChaosCall {
  /** The fake's own name of the call (`sendMessage`, `messages`, `push`). */
  readonly method: string;
  /** The conversation it writes to (chat id, phone number, PSID, LINE user id). */
  readonly conversation: string;
  readonly body: Record<string, unknown>;
}

export interface ChaosOptions {
  /** The provider's limit: calls per second in any window of one second, over the whole account. */
  readonly perSecond?: number;
  /** And in one conversation. */
  readonly perConversationPerSecond?: number;
  /** What the provider answers over the limit. */
  readonly limitAnswer?: (retryAfterSeconds: number) => {
    readonly status: number;
    readonly body: unknown;
    readonly headers?: Readonly<Record<string, string>>;
  };
  /** Decides the fate of each call (the n-th overall, counting from 0); undefined: accept it. */
  readonly script?: (call: ChaosCall, n: number) => ChaosAnswer | undefined;
  readonly now?: () => number;
}

export interface AcceptedCall extends ChaosCall {
  readonly at: number;
}

export class ProviderChaos {
  readonly accepted: AcceptedCall[] = [];
  /** Calls answered 429 because a limit was full: with proper pacing there are none. */
  readonly overLimit: ChaosCall[] = [];
  /** Calls answered by the script (5xx, 429, timeouts, resets). */
  readonly scripted: { readonly call: ChaosCall; readonly answer: ChaosAnswer['kind'] }[] = [];
  private calls = 0;
  private readonly now: () => number;

  constructor(private readonly options: ChaosOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** Calls accepted within the last second, of the whole account or one conversation. */
  private inLastSecond(conversation?: string): number {
    const since = this.now() - 1000;
    let count = 0;
    for (let i = this.accepted.length - 1; i >= 0; i--) {
      const call = this.accepted[i] as AcceptedCall;
      if (call.at <= since) break;
      if (conversation === undefined || call.conversation === conversation) count++;
    }
    return count;
  }

  /**
   * Decides a call: a scripted answer, a 429 over a limit, or acceptance (recorded, and answered by the fake).
   * Answers true when the fake should go on and answer the call itself.
   */
  handle(call: ChaosCall, response: ServerResponse, request: IncomingMessage): boolean {
    const n = this.calls++;
    const scripted = this.options.script?.(call, n);
    if (scripted) {
      this.scripted.push({ call, answer: scripted.kind });
      switch (scripted.kind) {
        case 'status':
          response.writeHead(scripted.status, { 'content-type': 'application/json', ...scripted.headers });
          response.end(typeof scripted.body === 'string' ? scripted.body : JSON.stringify(scripted.body));
          return false;
        case 'timeout':
          setTimeout(() => request.socket.destroy(), scripted.afterMs);
          return false;
        case 'reset':
          request.socket.destroy();
          return false;
      }
    }
    const over =
      (this.options.perSecond !== undefined && this.inLastSecond() >= this.options.perSecond) ||
      (this.options.perConversationPerSecond !== undefined &&
        this.inLastSecond(call.conversation) >= this.options.perConversationPerSecond);
    if (over) {
      this.overLimit.push(call);
      const answer = this.options.limitAnswer?.(1) ?? { status: 429, body: { error: 'Too Many Requests' } };
      response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      response.end(JSON.stringify(answer.body));
      return false;
    }
    this.accepted.push({ ...call, at: this.now() });
    return true;
  }

  /** How many accepted calls carried a given text (to find a message delivered twice). */
  countOf(match: (call: AcceptedCall) => boolean): number {
    return this.accepted.filter(match).length;
  }
}

/**
 * Which bot LINE credentials belong to: `GET /v2/bot/info` with the channel access token, answered by LINE
 * (here a fake of its documented answers) and by the local sandbox, whose bot is the demo's `destination`.
 */
import { describe, expect, it } from 'vitest';
import { lineConnector } from '../../../connectors/line/index.ts';
import { LINE_BOT_INFO_PATH, resolveLineBotUserId } from '../../../connectors/line/line.bot-info.ts';
import { lineDemo } from '../../../connectors/line/line.demo.ts';
import { createLineSandbox, LINE_SANDBOX_BOT_USER_ID } from '../../../connectors/line/line.sandbox.ts';
import { AuthenticationError, RateLimitedError, RetryableProviderError } from '../../../domain/provider-errors.ts';
import { lineMessagingSchemaViolations } from '../../helpers/line-spec.ts';

const BOT = 'Ub9952f8e7d6c5b4a39281706f5e4d3c2';
const credentials = { channelSecret: '8c6f0f5a9f1e4b2d7c3a5e9b1d2f4a6c', channelAccessToken: 'bot-info+test/token=' };

/** A fetch that answers like LINE once and records what it was asked. */
const answering = (status: number, body: unknown, headers: Record<string, string> = {}) => {
  const calls: { url: string; authorization: string | null }[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    calls.push({ url: String(input), authorization: new Headers(init?.headers).get('authorization') });
    return Response.json(body, { status, headers });
  };
  return { fetch, calls };
};

describe('resolveLineBotUserId', () => {
  it("asks LINE's bot info with the channel access token and answers the bot's user id", async () => {
    const { fetch, calls } = answering(200, {
      userId: BOT,
      basicId: '@216ruxyz',
      displayName: 'ACME',
      chatMode: 'chat',
      markAsReadMode: 'manual',
    });
    expect(await resolveLineBotUserId(credentials, { apiBaseUrl: 'https://api.line.me/', fetch })).toBe(BOT);
    expect(calls).toEqual([{ url: `https://api.line.me${LINE_BOT_INFO_PATH}`, authorization: `Bearer ${credentials.channelAccessToken}` }]);
  });

  it('cannot tell without an access token, and asks nothing', async () => {
    const { fetch, calls } = answering(200, { userId: BOT });
    expect(
      await resolveLineBotUserId({ channelSecret: credentials.channelSecret }, { apiBaseUrl: 'https://api.line.me', fetch }),
    ).toBeUndefined();
    expect(calls).toEqual([]);
  });

  it('says a refused token is an authentication failure, and an unavailable LINE a retryable one', async () => {
    const context = (status: number, body: unknown, headers?: Record<string, string>) => ({
      apiBaseUrl: 'https://api.line.me',
      fetch: answering(status, body, headers).fetch,
    });
    await expect(resolveLineBotUserId(credentials, context(401, { message: 'Authentication failed' }))).rejects.toBeInstanceOf(
      AuthenticationError,
    );
    await expect(resolveLineBotUserId(credentials, context(500, { message: 'Internal error' }))).rejects.toBeInstanceOf(
      RetryableProviderError,
    );
    await expect(resolveLineBotUserId(credentials, context(429, { message: 'Too many requests' }))).rejects.toBeInstanceOf(
      RateLimitedError,
    );
    const offline: typeof globalThis.fetch = async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    };
    await expect(resolveLineBotUserId(credentials, { apiBaseUrl: 'https://api.line.me', fetch: offline })).rejects.toBeInstanceOf(
      RetryableProviderError,
    );
  });

  it('refuses an answer that holds no bot user id rather than taking whatever it holds', async () => {
    const context = { apiBaseUrl: 'https://api.line.me', fetch: answering(200, { userId: 'C123', displayName: 'a group?' }).fetch };
    await expect(resolveLineBotUserId(credentials, context)).rejects.toThrow(/without a bot user id/);
  });

  it('is the LINE connector account resolution', () => {
    expect(lineConnector.resolveAccountId).toBe(resolveLineBotUserId);
    expect(lineConnector.accountIdOf(credentials)).toBeUndefined();
  });
});

describe('the LINE sandbox bot', () => {
  it('answers bot info as LINE documents it, with the bot the demo writes to', async () => {
    const sandbox = createLineSandbox();
    const answer = sandbox.handle({ method: 'GET', path: LINE_BOT_INFO_PATH, body: Buffer.alloc(0) });
    expect(answer.statusCode).toBe(200);
    expect(lineMessagingSchemaViolations('BotInfoResponse', answer.body)).toEqual([]);
    // Through the connector's own resolution, as the local runtime asks it.
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const served = sandbox.handle({
        method: init?.method ?? 'GET',
        path: new URL(String(input)).pathname.replace(/^\/sandbox\/line/, ''),
        body: Buffer.alloc(0),
      });
      return Response.json(served.body, { status: served.statusCode });
    };
    const dev = lineConnector.devCredentials();
    expect(await resolveLineBotUserId(dev, { apiBaseUrl: 'http://127.0.0.1:3000/sandbox/line', fetch })).toBe(LINE_SANDBOX_BOT_USER_ID);
    const [request] = lineDemo.opening(dev, 1);
    expect(JSON.parse(request!.body)).toMatchObject({ destination: LINE_SANDBOX_BOT_USER_ID });
  });
});

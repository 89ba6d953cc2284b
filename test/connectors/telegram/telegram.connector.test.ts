import { describe, expect, it } from 'vitest';
import type { OutboundContent } from '../../../domain/content.ts';
import { InvalidRequestError, PermanentProviderError, RateLimitedError } from '../../../domain/provider-errors.ts';
import { telegramConnector } from '../../../connectors/telegram/index.ts';
import { classifyTelegramError } from '../../../connectors/telegram/telegram.api.ts';

const parse = (body: string) => telegramConnector.parse(Buffer.from(body, 'utf8'));

describe('telegram connector', () => {
  it('declares its channel, API origin and credential names', () => {
    expect(telegramConnector.channel).toBe('telegram');
    expect(telegramConnector.defaultApiBaseUrl).toBe('https://api.telegram.org');
    expect(telegramConnector.credentialNames).toEqual({ inbound: ['webhookSecret'], outbound: ['botToken'] });
    expect(telegramConnector.handshake).toBeUndefined();
  });

  it('names the account by the bot id in the token', () => {
    expect(telegramConnector.accountIdOf({ botToken: '7712345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw' })).toBe('7712345678');
    expect(telegramConnector.accountIdOf({ webhookSecret: 's' })).toBeUndefined();
    expect(telegramConnector.accountIdOf({ botToken: 'not-a-token' })).toBeUndefined();
    expect(telegramConnector.accountIdOf({ botToken: ':AAH' })).toBeUndefined();
  });
});

describe('telegram parse', () => {
  it('answers malformed only for bodies that are not JSON', () => {
    expect(parse('')).toEqual({ kind: 'malformed', reason: 'body is not JSON' });
    expect(parse('{"update_id":1,')).toEqual({ kind: 'malformed', reason: 'body is not JSON' });
  });

  it('ignores JSON that is not an update, since Telegram would retry a 4xx for a day', () => {
    for (const body of ['[]', '"text"', 'null', '42', '{"update_id":"804511200"}', '{"update_id":1.5}', '{"message":{}}']) {
      expect(parse(body), body).toMatchObject({ kind: 'ignored' });
    }
  });

  it('ignores an update whose known parts are unreadable, naming the field', () => {
    const result = parse('{"update_id":7,"message":{"message_id":1,"date":1773448013,"text":"hi"}}');
    expect(result).toEqual({
      kind: 'ignored',
      reason: 'update 7 is not readable: message.chat: Invalid input: expected object, received undefined',
    });
  });

  it('keeps fields it does not know, at every level', () => {
    const result = parse(
      '{"update_id":8,"future_field":{"x":1},"message":{"message_id":1,"date":1773448013,"chat":{"id":1,"type":"private","is_new":true},"text":"hi","shiny":[1]}}',
    );
    expect(result.kind).toBe('ok');
    if (result.kind !== 'ok') return;
    expect(result.payload['future_field']).toEqual({ x: 1 });
    expect(result.payload.message?.['shiny']).toEqual([1]);
    expect(result.payload.message?.chat['is_new']).toBe(true);
  });

  it('accepts ids beyond 32 bits exactly', () => {
    const result = parse(
      '{"update_id":9,"message":{"message_id":1,"date":1773448013,"chat":{"id":-1001122334455,"type":"channel"},"text":"hi"}}',
    );
    expect(result.kind === 'ok' && result.payload.message?.chat.id).toBe(-1001122334455);
  });
});

describe('classifyTelegramError', () => {
  it('reads the wait from the description when parameters.retry_after is missing, else waits 5 s', () => {
    const fromText = classifyTelegramError(429, { ok: false, error_code: 429, description: 'Too Many Requests: retry after 7' });
    const bare = classifyTelegramError(429, undefined);
    expect(fromText).toBeInstanceOf(RateLimitedError);
    expect(fromText).toMatchObject({ retryAfterSeconds: 7, code: '429' });
    expect(bare).toMatchObject({ retryAfterSeconds: 5, code: '429', message: 'HTTP 429' });
  });

  it("prefers the API's error_code to the HTTP status", () => {
    const error = classifyTelegramError(200, { ok: false, error_code: 403, description: 'Forbidden: user is deactivated' });
    expect(error).toBeInstanceOf(PermanentProviderError);
    expect(error).toMatchObject({ recipientUnreachable: true, code: '403' });
  });

  it('treats other 4xx answers as invalid requests', () => {
    expect(classifyTelegramError(409, { ok: false, error_code: 409, description: 'Conflict' })).toBeInstanceOf(InvalidRequestError);
  });
});

describe('telegram development setup', () => {
  it('names the environment variables of the contract', () => {
    expect(telegramConnector.environment).toEqual({
      credentials: { webhookSecret: 'TELEGRAM_WEBHOOK_SECRET', botToken: 'TELEGRAM_BOT_TOKEN' },
      apiBaseUrl: 'TELEGRAM_API_BASE_URL',
    });
  });

  it('makes fresh development credentials shaped like real ones', () => {
    const first = telegramConnector.devCredentials();
    const second = telegramConnector.devCredentials();
    expect(first['webhookSecret']).toMatch(/^[A-Za-z0-9_-]{1,256}$/);
    expect(first['botToken']).toMatch(/^\d{10}:[A-Za-z0-9_-]{35}$/);
    expect(telegramConnector.accountIdOf(first)).toBe(first['botToken']?.split(':')[0]);
    expect(second).not.toEqual(first);
    const request = {
      method: 'POST',
      headers: { 'x-telegram-bot-api-secret-token': first['webhookSecret'] },
      query: {},
      rawBody: Buffer.from('{}'),
    };
    expect(telegramConnector.verify(request, first)).toBe(true);
  });

  it('has a sandbox that answers every call the sender makes', async () => {
    // Prepare: a fetch that hands each request to the sandbox.
    const sandbox = telegramConnector.sandbox!;
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const url = new URL(String(input));
      const answer = sandbox.handle({ method: init?.method ?? 'GET', path: url.pathname, body: Buffer.from(String(init?.body ?? '')) });
      return new Response(JSON.stringify(answer.body), { status: answer.statusCode });
    };
    const context = {
      credentials: { botToken: '7712345678:AAsandbox' },
      apiBaseUrl: 'http://sandbox.local',
      fetch,
      onPartSent: async () => {},
    };
    const recipient = { accountId: '7712345678', conversation: { externalId: '5550101234', kind: 'direct' as const } };
    const contents: OutboundContent[] = [
      { type: 'text', text: 'Hello', quickReplies: [{ text: 'Yes', payload: 'yes' }] },
      { type: 'image', media: { id: 'AgACfake' }, caption: 'Photo' },
      { type: 'file', media: { id: 'BQACfake' } },
      { type: 'audio', media: { id: 'CQACfake' } },
      { type: 'video', media: { id: 'BAACfake' } },
      { type: 'sticker', media: { id: 'CAACfake' } },
      { type: 'location', latitude: 37.5, longitude: 127 },
      { type: 'location', latitude: 37.5, longitude: 127, name: 'ACME', address: '1 Main St' },
      {
        type: 'text',
        text: 'Pick one',
        buttons: [
          { type: 'postback', text: 'Yes', payload: 'yes' },
          { type: 'url', text: 'Terms', url: 'https://acme.example/terms' },
        ],
      },
      {
        type: 'list',
        text: 'Which branch?',
        sections: [{ title: 'Seoul', items: [{ title: 'Gangnam', description: 'Open late', payload: 'b:1' }] }],
      },
    ];

    // Act + Assess
    for (const content of contents) {
      const result = await telegramConnector.sender.send({ content, recipient, sentParts: [] }, context);
      expect(result.externalIds, content.type).toHaveLength(1);
    }
    await telegramConnector.sender.perform('answerCallbackQuery', { callback_query_id: '1' }, context);
  });
});

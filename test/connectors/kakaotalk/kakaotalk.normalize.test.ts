import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { NormalizeContext } from '../../../connectors/connector.ts';
import { kakaotalkConnector } from '../../../connectors/kakaotalk/index.ts';
import { KAKAO_DEDUPE_WINDOW_MS, normalizeKakaoSkillPayload } from '../../../connectors/kakaotalk/kakaotalk.normalize.ts';
import { decodeKakaoParamValue, kakaoParams, type KakaoSkillPayload } from '../../../connectors/kakaotalk/kakaotalk.schema.ts';
import { ParleyEventSchema, type ParleyEvent } from '../../../domain/events.ts';
import { BOT_ID } from './kakaotalk.kit.ts';

const FIXTURES = new URL('../../fixtures/kakaotalk/', import.meta.url);
const CONTEXT: NormalizeContext = { accountId: BOT_ID, receivedAt: '2026-03-14T01:00:00.000Z' };

const fixtureBody = (scenario: string): Buffer => {
  const json = new URL(`${scenario}.json`, FIXTURES);
  return readFileSync(existsSync(json) ? json : new URL(`${scenario}.txt`, FIXTURES));
};
const readJson = (file: string): unknown => JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8'));

/** Parses a fixture that must be a usable payload; a fresh copy each time, so tests may change it. */
const payload = (scenario: string): KakaoSkillPayload => {
  const parsed = kakaotalkConnector.parse(fixtureBody(scenario));
  if (parsed.kind !== 'ok') throw new Error(`${scenario}: ${parsed.kind} ${parsed.reason}`);
  return parsed.payload;
};

const at = (ms: number): NormalizeContext => ({ ...CONTEXT, receivedAt: new Date(Date.parse(CONTEXT.receivedAt) + ms).toISOString() });

const messageOf = (events: readonly ParleyEvent[]) => {
  const event = events[0];
  if (event?.type !== 'message.received') throw new Error('expected a message first');
  return event;
};

const scenarios = readdirSync(FIXTURES)
  .filter((file) => file.endsWith('.expected.json'))
  .map((file) => file.slice(0, -'.expected.json'.length))
  .sort();

describe('kakaotalk fixtures', () => {
  it('cover every scenario the connector promises to handle', () => {
    expect(scenarios).toEqual(
      expect.arrayContaining([
        'plain-text',
        'params-json-in-string',
        'non-friend',
        'test-console',
        'quick-reply-parley',
        'quick-reply-admin-button',
        'callback',
        'empty-utterance',
        'not-json',
        'not-a-skill-payload',
        'no-user',
      ]),
    );
  });

  it.each(scenarios)('%s parses and normalizes to exactly the expected result', (scenario) => {
    // Prepare
    const expected = readJson(`${scenario}.expected.json`) as { parse?: unknown };
    // Act
    const parsed = kakaotalkConnector.parse(fixtureBody(scenario));
    // Assess
    if (expected.parse !== undefined) {
      expect(parsed).toStrictEqual(expected.parse);
      return;
    }
    if (parsed.kind !== 'ok') throw new Error(`${scenario}: ${parsed.kind}`);
    const result = kakaotalkConnector.normalize(parsed.payload, CONTEXT);
    expect(result).toStrictEqual(expected);
    for (const event of result.events) expect(ParleyEventSchema.parse(event)).toStrictEqual(event);
  });
});

describe('kakaotalk parse', () => {
  const parse = (body: string) => kakaotalkConnector.parse(Buffer.from(body, 'utf8'));

  it('answers malformed, never ignored, for anything that is not a skill payload: Kakao would show an error either way', () => {
    for (const body of [
      '',
      '{"userRequest":',
      '[]',
      'null',
      '"text"',
      '42',
      '{}',
      '{"userRequest":[]}',
      '{"userRequest":{"utterance":"hi"}}',
    ]) {
      expect(parse(body).kind, body).toBe('malformed');
    }
  });

  it('accepts a payload with only a user key, and keeps fields it does not know', () => {
    const result = parse('{"userRequest":{"user":{"id":"abc","shiny":1}},"flow":{"lastBlock":{"id":"b"}}}');
    expect(result.kind).toBe('ok');
    if (result.kind !== 'ok') return;
    expect(result.payload['flow']).toEqual({ lastBlock: { id: 'b' } });
    expect(result.payload.userRequest.user['shiny']).toBe(1);
  });

  it('accepts the old user type and a null properties object', () => {
    const result = parse('{"userRequest":{"utterance":"hi","lang":"kr","user":{"id":"k","type":"talk_user_id","properties":null}}}');
    expect(result.kind).toBe('ok');
  });
});

describe('kakaoParams', () => {
  it('decodes system-entity JSON inside the strings and keeps what the user typed', () => {
    const params = kakaoParams(payload('params-json-in-string').action);
    expect(params['sys_number']).toEqual({ raw: '{"amount": 2, "unit": null}', value: { amount: 2, unit: null }, origin: '2명' });
    expect(params['branch']).toEqual({ raw: '강남점', value: '강남점', origin: '강남점' });
    expect((params['sys_date']?.value as { date: string }).date).toBe('2026-03-20');
  });

  it('keeps a string that only looks like JSON as it is, without throwing', () => {
    expect(kakaoParams(payload('params-json-in-string').action)['broken']?.value).toBe('{"amount": 2,');
    for (const value of ['{', '[1,', '{"a":', ' {} ', 'null', '', 7, null, { already: 'parsed' }]) {
      expect(() => decodeKakaoParamValue(value)).not.toThrow();
    }
    expect(decodeKakaoParamValue(' {"a":1} ')).toEqual({ a: 1 });
    expect(decodeKakaoParamValue('123')).toBe('123');
  });

  it('reads any shape of params and detailParams without throwing, and never lets __proto__ through', () => {
    const action = JSON.parse(
      '{"params":{"__proto__":"{\\"polluted\\":true}","n":5},"detailParams":{"d":"not an object","e":{"origin":3,"value":"{\\"x\\":1}"}}}',
    ) as KakaoSkillPayload['action'];
    const params = kakaoParams(action);
    expect(Object.getPrototypeOf(params)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(params['n']).toEqual({ raw: 5, value: 5 });
    expect(params['d']).toEqual({ raw: undefined, value: undefined });
    expect(params['e']).toEqual({ raw: '{"x":1}', value: { x: 1 } });
    expect(kakaoParams(undefined)).toEqual({});
    expect(kakaoParams(null)).toEqual({});
  });
});

describe('normalizeKakaoSkillPayload', () => {
  it('gives the same message for the same utterance within the dedupe window, and a new one after it', () => {
    // Prepare: the fixture time is at the start of a window.
    expect(Date.parse(CONTEXT.receivedAt) % KAKAO_DEDUPE_WINDOW_MS).toBe(0);
    const first = normalizeKakaoSkillPayload(payload('plain-text'), CONTEXT);
    // Act
    const duplicate = normalizeKakaoSkillPayload(payload('plain-text'), at(KAKAO_DEDUPE_WINDOW_MS - 1));
    const later = normalizeKakaoSkillPayload(payload('plain-text'), at(KAKAO_DEDUPE_WINDOW_MS));
    // Assess
    expect(messageOf(duplicate.events).externalMessageId).toBe(messageOf(first.events).externalMessageId);
    expect(duplicate.events[0]?.eventId).toBe(first.events[0]?.eventId);
    expect(messageOf(later.events).externalMessageId).not.toBe(messageOf(first.events).externalMessageId);
    expect(later.events[0]?.eventId).not.toBe(first.events[0]?.eventId);
  });

  it('tells apart other users, other words, other blocks and other accounts within one window', () => {
    const id = (change: (p: KakaoSkillPayload) => void, context = CONTEXT): string => {
      const p = payload('plain-text');
      change(p);
      return messageOf(normalizeKakaoSkillPayload(p, context).events).externalMessageId;
    };
    const base = id(() => {});
    const others = [
      id((p) => void (p.userRequest.user.id = 'another-user')),
      id((p) => void (p.userRequest.utterance = '다른 말')),
      id((p) => void (p.userRequest.block = { id: 'another-block' })),
      id(() => {}, { ...CONTEXT, accountId: 'another-bot' }),
    ];
    expect(new Set([base, ...others]).size).toBe(5);
  });

  it('uses the callback URL as the request id: two calls in one window stay two, a redelivery stays one', () => {
    const first = normalizeKakaoSkillPayload(payload('callback'), CONTEXT);
    const redelivered = normalizeKakaoSkillPayload(payload('callback'), at(3_600_000));
    const second = payload('callback');
    second.userRequest.callbackUrl = 'https://bot-api.kakao.com/v1/bots/65f1a2b3c4d5e6f708192a3b/callback/Other0000000001';
    const another = normalizeKakaoSkillPayload(second, CONTEXT);

    expect(redelivered.events.map((e) => e.eventId)).toEqual(first.events.map((e) => e.eventId));
    expect(messageOf(another.events).externalMessageId).not.toBe(messageOf(first.events).externalMessageId);
  });

  it('puts the callback URL in the message as its reply handle, for one minute from receipt, and asks for no action', () => {
    const { events } = normalizeKakaoSkillPayload(payload('callback'), CONTEXT);
    expect(events).toHaveLength(1);
    expect(messageOf(events).replyHandle).toEqual({
      value: 'https://bot-api.kakao.com/v1/bots/65f1a2b3c4d5e6f708192a3b/callback/Xk3t9QmZr2Lw8Vb1',
      expiresAt: '2026-03-14T01:01:00.000Z',
    });
    expect(messageOf(normalizeKakaoSkillPayload(payload('callback'), at(30_000)).events).replyHandle?.expiresAt).toBe(
      '2026-03-14T01:01:30.000Z',
    );
    expect(messageOf(normalizeKakaoSkillPayload(payload('plain-text'), CONTEXT).events)).not.toHaveProperty('replyHandle');
  });

  it("puts the message in the account whose credentials verified it, never in the payload's bot", () => {
    // Without KAKAO_BOT_ID the secret does not say which bot it serves: the body's bot.id is not taken.
    const other = { ...CONTEXT, accountId: 'default' };
    expect(payload('plain-text').bot?.id).toBe(BOT_ID);
    expect(normalizeKakaoSkillPayload(payload('plain-text'), other).events[0]?.accountId).toBe('default');
    const botless = payload('plain-text');
    botless.bot = null;
    expect(normalizeKakaoSkillPayload(botless, other).events[0]?.accountId).toBe('default');
    expect(normalizeKakaoSkillPayload(payload('plain-text'), CONTEXT).events[0]?.accountId).toBe(CONTEXT.accountId);
  });

  it('treats non-friends and test-console users as customers, with no channel key needed', () => {
    for (const scenario of ['non-friend', 'test-console']) {
      const message = messageOf(normalizeKakaoSkillPayload(payload(scenario), CONTEXT).events);
      expect(message.direction).toBe('inbound');
      expect(message.conversation).toEqual({ externalId: message.sender.externalUserId, kind: 'direct' });
    }
  });

  it('turns an empty clientExtra into plain text, and an extra without Parley payload into its JSON', () => {
    const tapped = payload('quick-reply-admin-button');
    const content = messageOf(normalizeKakaoSkillPayload(tapped, CONTEXT).events).content;
    expect(content.type === 'reply' && JSON.parse(content.payload)).toEqual(tapped.action?.clientExtra);
    for (const extra of [{}, null, [], 'x', undefined]) {
      const typed = payload('quick-reply-admin-button');
      if (typed.action) typed.action.clientExtra = extra;
      expect(messageOf(normalizeKakaoSkillPayload(typed, CONTEXT).events).content.type, JSON.stringify(extra)).toBe('text');
    }
  });
});

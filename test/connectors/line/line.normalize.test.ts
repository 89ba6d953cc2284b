import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ParleyEventSchema, type ParleyEvent } from '../../../domain/events.ts';
import type { NormalizeContext } from '../../../connectors/connector.ts';
import { lineConnector } from '../../../connectors/line/index.ts';
import { normalizeLineWebhook } from '../../../connectors/line/line.normalize.ts';
import type { LineWebhook } from '../../../connectors/line/line.schema.ts';
import { lineWebhookViolations } from '../../helpers/line-spec.ts';

const FIXTURES = new URL('../../fixtures/line/', import.meta.url);
const DESTINATION = 'U4af4980629c0a3b6b4f3c4d5e6f7a8b9';
/** The account the webhook path learned for the channel's access token: the bot every fixture names. */
const CONTEXT: NormalizeContext = { accountId: DESTINATION, receivedAt: '2026-03-14T03:00:00.000Z' };

/** Fixtures that are deliberately not what LINE sends; every other one must match LINE's webhook document. */
const NOT_LINE_SHAPED = new Set(['not-json', 'not-a-webhook', 'unreadable-event']);

const fixtureBody = (scenario: string): Buffer => {
  const json = new URL(`${scenario}.json`, FIXTURES);
  return readFileSync(existsSync(json) ? json : new URL(`${scenario}.txt`, FIXTURES));
};
const readJson = (file: string): unknown => JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8'));

const webhook = (scenario: string): LineWebhook => {
  const parsed = lineConnector.parse(fixtureBody(scenario));
  if (parsed.kind !== 'ok') throw new Error(`${scenario}: ${parsed.kind} ${parsed.reason}`);
  return parsed.payload;
};

const expectValidEvents = (events: readonly ParleyEvent[]): void => {
  for (const event of events) expect(ParleyEventSchema.parse(event)).toStrictEqual(event);
};

const received = (event: ParleyEvent | undefined) => {
  if (event?.type !== 'message.received') throw new Error(`expected message.received, got ${event?.type}`);
  return event;
};

const scenarios = readdirSync(FIXTURES)
  .filter((file) => file.endsWith('.expected.json'))
  .map((file) => file.slice(0, -'.expected.json'.length))
  .sort();

describe('line fixtures', () => {
  it('cover every scenario the connector promises to handle', () => {
    expect(scenarios).toEqual(
      expect.arrayContaining([
        'verification',
        'text',
        'text-emoji-mention-group',
        'text-escaped-unicode',
        'image',
        'video-external',
        'audio',
        'file',
        'location',
        'sticker',
        'postback',
        'postback-datetime',
        'follow',
        'unfollow',
        'unsend',
        'join-leave',
        'member-joined-left',
        'room-message',
        'group-message-no-user',
        'redelivery',
        'batch',
        'unknown-event-types',
        'unreadable-event',
        'not-a-webhook',
        'not-json',
      ]),
    );
  });

  it.each(scenarios.filter((s) => !NOT_LINE_SHAPED.has(s)))('%s is a CallbackRequest by LINE’s webhook document', (scenario) => {
    expect(lineWebhookViolations(JSON.parse(fixtureBody(scenario).toString('utf8')))).toEqual([]);
  });

  it.each([...NOT_LINE_SHAPED].filter((s) => s !== 'not-json'))('%s is indeed not a CallbackRequest', (scenario) => {
    expect(lineWebhookViolations(JSON.parse(fixtureBody(scenario).toString('utf8')))).not.toEqual([]);
  });

  it.each(scenarios)('%s parses and normalizes to exactly the expected result', (scenario) => {
    // Prepare
    const expected = readJson(`${scenario}.expected.json`) as { parse?: unknown };
    // Act
    const parsed = lineConnector.parse(fixtureBody(scenario));
    // Assess
    if (expected.parse !== undefined) {
      expect(parsed).toStrictEqual(expected.parse);
      return;
    }
    expect(parsed.kind).toBe('ok');
    if (parsed.kind !== 'ok') return;
    const result = lineConnector.normalize(parsed.payload, CONTEXT);
    expect(result).toStrictEqual(expected);
    expectValidEvents(result.events);
  });
});

describe('normalizeLineWebhook', () => {
  it('answers the verification request (empty events) with nothing to do', () => {
    expect(normalizeLineWebhook(webhook('verification'), CONTEXT)).toEqual({ events: [], ignored: [] });
  });

  it('puts every event in the account whose credentials verified the body, the bot its destination names', () => {
    const events = normalizeLineWebhook(webhook('batch'), CONTEXT).events;
    expect(events.map((e) => e.accountId)).toEqual(Array(4).fill(DESTINATION));
  });

  it('puts the events in the verifying account when its bot is unknown, never in the bot the body names', () => {
    // Credentials without an access token cannot say which bot they are: the body's say is not taken.
    const events = normalizeLineWebhook(webhook('batch'), { ...CONTEXT, accountId: 'default' }).events;
    expect(events.map((e) => e.accountId)).toEqual(Array(4).fill('default'));
  });

  it('yields one event per message of a batch, each with its own sender and conversation', () => {
    const events = normalizeLineWebhook(webhook('batch'), CONTEXT).events.map(received);
    expect(events).toHaveLength(4);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(4);
    expect(events.map((e) => [e.sender.externalUserId, e.conversation.externalId, e.conversation.kind])).toEqual([
      ['U1a2b3c4d5e6f708192a3b4c5d6e7f801', 'U1a2b3c4d5e6f708192a3b4c5d6e7f801', 'direct'],
      ['Uc0ffee00c0ffee00c0ffee00c0ffee01', 'Uc0ffee00c0ffee00c0ffee00c0ffee01', 'direct'],
      ['U9f8e7d6c5b4a39281706f5e4d3c2b1a0', 'Ca1b2c3d4e5f60718293a4b5c6d7e8f90', 'group'],
      ['U1a2b3c4d5e6f708192a3b4c5d6e7f801', 'U1a2b3c4d5e6f708192a3b4c5d6e7f801', 'direct'],
    ]);
  });

  it('gives a redelivered event the same event id and message id as the first delivery', () => {
    const first = normalizeLineWebhook(webhook('text'), CONTEXT).events;
    const again = normalizeLineWebhook(webhook('redelivery'), { ...CONTEXT, receivedAt: '2026-03-14T04:00:00.000Z' }).events;
    expect(webhook('redelivery').events[0]).toMatchObject({ deliveryContext: { isRedelivery: true } });
    expect(again.map((e) => e.eventId)).toEqual(first.map((e) => e.eventId));
    expect(received(again[0]).externalMessageId).toBe(received(first[0]).externalMessageId);
    expect(received(again[0]).providerEventId).toBe('01JPB7Q4M5N6P7Q8R9S0T1V2W3');
    // The time is the original event's, not the redelivery's.
    expect(again[0]?.occurredAt).toBe(first[0]?.occurredAt);
  });

  it("hands out a message's or postback's reply token for 50 seconds from the event, never a redelivered one's", () => {
    const text = received(normalizeLineWebhook(webhook('text'), CONTEXT).events[0]);
    expect(text.occurredAt).toBe('2026-03-14T00:26:53.123Z');
    expect(text.replyHandle).toEqual({ value: '8f2c1d9e7b6a5f4e3d2c1b0a99887766', expiresAt: '2026-03-14T00:27:43.123Z' });
    const postback = received(normalizeLineWebhook(webhook('postback'), CONTEXT).events[0]);
    expect(postback.replyHandle).toEqual({ value: '7182a3b4c5d6e7f8091a2b3c4d5e6f70', expiresAt: '2026-03-14T00:32:30.500Z' });
    // A redelivery carries the first delivery's token, already spent or stale.
    expect(webhook('redelivery').events[0]).toMatchObject({ replyToken: '8f2c1d9e7b6a5f4e3d2c1b0a99887766' });
    expect(received(normalizeLineWebhook(webhook('redelivery'), CONTEXT).events[0])).not.toHaveProperty('replyHandle');
    const tokenless = webhook('text');
    delete (tokenless.events[0] as Record<string, unknown>)['replyToken'];
    expect(received(normalizeLineWebhook(tokenless, CONTEXT).events[0])).not.toHaveProperty('replyHandle');
  });

  it('drops a body naming another bot than the verifying account', () => {
    const payload = webhook('batch');
    expect(normalizeLineWebhook(payload, { ...CONTEXT, accountId: DESTINATION }).events).toHaveLength(4);
    expect(normalizeLineWebhook(payload, { ...CONTEXT, accountId: 'U00000000000000000000000000000001' })).toEqual({
      events: [],
      ignored: [`destination ${DESTINATION} is not this account's bot U00000000000000000000000000000001: body dropped`],
    });
  });

  it('gives the same event other ids under another bot', () => {
    const payload = webhook('text');
    const [mine] = normalizeLineWebhook(payload, CONTEXT).events;
    const other = 'U00000000000000000000000000000001';
    const [theirs] = normalizeLineWebhook({ ...payload, destination: other }, { ...CONTEXT, accountId: other }).events;
    expect(theirs?.eventId).not.toBe(mine?.eventId);
  });

  it('keeps emoji and mentions as entities whose UTF-16 offsets mark the right text, byte-exact', () => {
    const event = received(normalizeLineWebhook(webhook('text-emoji-mention-group'), CONTEXT).events[0]);
    if (event.content.type !== 'text') throw new Error('expected text');
    const { text, entities = [] } = event.content;
    expect(entities.map((e) => text.slice(e.offset, e.offset + e.length))).toEqual(['@Mina', '@All', '(love)']);
    expect(text.startsWith('\uD83D\uDE00')).toBe(true);
    expect(text).toContain('e\u0301cole');
    expect(text).not.toContain('\u00e9');
  });

  it('decodes \\u escapes of the raw body into the same text', () => {
    const event = received(normalizeLineWebhook(webhook('text-escaped-unicode'), CONTEXT).events[0]);
    expect(event.content).toEqual({ type: 'text', text: 'こんにちは \u{1F928} 注文はどこ? \u{1F600}' });
  });

  it('drops entities that do not fit the text instead of passing them on', () => {
    const payload = webhook('text');
    const event = payload.events[0] as Record<string, unknown> & { message: Record<string, unknown> };
    event.message['emojis'] = [
      { index: 30, length: 50, productId: 'p', emojiId: 'e' },
      { index: 0, length: 0, productId: 'p', emojiId: 'e' },
    ];
    const content = received(normalizeLineWebhook(payload, CONTEXT).events[0]).content;
    expect(content).toEqual({ type: 'text', text: 'Hello, is my order A-1029 on its way?' });
  });

  it('turns an unknown message type into unsupported content under its own name', () => {
    const payload = webhook('text');
    const event = payload.events[0] as { message: Record<string, unknown> };
    event.message = { type: 'hologram', id: '546813200148215999' };
    const result = normalizeLineWebhook(payload, CONTEXT);
    expect(received(result.events[0]).content).toEqual({ type: 'unsupported', providerType: 'hologram' });
    expectValidEvents(result.events);
  });

  it('ignores an event without a usable source, naming it', () => {
    const payload = webhook('text');
    (payload.events[0] as Record<string, unknown>)['source'] = { type: 'group' };
    expect(normalizeLineWebhook(payload, CONTEXT)).toEqual({
      events: [],
      ignored: ['event 01JPB7Q4M5N6P7Q8R9S0T1V2W3 (message): no user, group or room source'],
    });
  });

  it('never throws on events of any shape, and keeps the good ones', () => {
    const good = webhook('text').events[0];
    const odd: unknown[] = [
      null,
      42,
      'message',
      [],
      {},
      { type: 7 },
      { type: 'message' },
      { type: 'postback', postback: 'x' },
      { type: 'unfollow', webhookEventId: 'x', timestamp: 1e20 },
    ];
    const result = normalizeLineWebhook({ destination: DESTINATION, events: [...odd, good] }, CONTEXT);
    expect(result.events).toHaveLength(1);
    expect(result.ignored).toHaveLength(odd.length);
    expectValidEvents(result.events);
  });

  it('falls back to the receipt time for a timestamp a Date cannot hold', () => {
    const payload = webhook('text');
    (payload.events[0] as Record<string, unknown>)['timestamp'] = 9e15;
    const event = received(normalizeLineWebhook(payload, CONTEXT).events[0]);
    expect(event.occurredAt).toBe(CONTEXT.receivedAt);
    expect(event.replyHandle?.expiresAt).toBe('2026-03-14T03:00:50.000Z');
  });
});

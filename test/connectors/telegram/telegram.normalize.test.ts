import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ParleyEventSchema, type ParleyEvent } from '../../../domain/events.ts';
import type { NormalizeContext } from '../../../connectors/connector.ts';
import { telegramConnector } from '../../../connectors/telegram/index.ts';
import {
  largestPhotoSize,
  MESSAGE_METADATA_KEYS,
  normalizeTelegramUpdate,
  SERVICE_MESSAGE_KEYS,
} from '../../../connectors/telegram/telegram.normalize.ts';
import type { TelegramPhotoSize, TelegramUpdate } from '../../../connectors/telegram/telegram.schema.ts';
import { loadTelegramSpec } from '../../helpers/telegram-spec.ts';

const FIXTURES = new URL('../../fixtures/telegram/', import.meta.url);
const CONTEXT: NormalizeContext = { accountId: '7712345678', receivedAt: '2026-03-14T01:00:00.000Z' };

const fixtureBody = (scenario: string): Buffer => {
  const json = new URL(`${scenario}.json`, FIXTURES);
  return readFileSync(existsSync(json) ? json : new URL(`${scenario}.txt`, FIXTURES));
};
const readJson = (file: string): unknown => JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8'));

/** Parses a fixture that must be a usable update; a fresh copy each time, so tests may change it. */
const update = (scenario: string): TelegramUpdate => {
  const parsed = telegramConnector.parse(fixtureBody(scenario));
  if (parsed.kind !== 'ok') throw new Error(`${scenario}: ${parsed.kind} ${parsed.reason}`);
  return parsed.payload;
};

/** Validating and comparing with the input catches both wrong values and keys the schema would strip. */
const expectValidEvents = (events: readonly ParleyEvent[]): void => {
  for (const event of events) expect(ParleyEventSchema.parse(event)).toStrictEqual(event);
};

const scenarios = readdirSync(FIXTURES)
  .filter((file) => file.endsWith('.expected.json'))
  .map((file) => file.slice(0, -'.expected.json'.length))
  .sort();

describe('telegram fixtures', () => {
  it('cover every scenario the connector promises to handle', () => {
    expect(scenarios).toEqual(
      expect.arrayContaining([
        'private-text-entities',
        'photo-caption',
        'document',
        'video',
        'sticker',
        'location',
        'contact',
        'reply',
        'edited-message',
        'callback-query',
        'channel-post',
        'my-chat-member-kicked',
        'group-message-first',
        'group-message-second',
        'unknown-update-type',
        'poll-message',
        'not-an-update',
        'not-json',
      ]),
    );
  });

  it.each(scenarios)('%s parses and normalizes to exactly the expected result', (scenario) => {
    // Prepare
    const expected = readJson(`${scenario}.expected.json`) as { parse?: unknown; events?: unknown; ignored?: unknown };
    // Act
    const parsed = telegramConnector.parse(fixtureBody(scenario));
    // Assess
    if (expected.parse !== undefined) {
      expect(parsed).toStrictEqual(expected.parse);
      return;
    }
    expect(parsed.kind).toBe('ok');
    if (parsed.kind !== 'ok') return;
    const result = telegramConnector.normalize(parsed.payload, CONTEXT);
    expect(result).toStrictEqual(expected);
    expectValidEvents(result.events);
  });
});

describe('normalizeTelegramUpdate', () => {
  it('keeps text byte-exact and entity offsets in UTF-16 code units after an emoji', () => {
    const { events } = normalizeTelegramUpdate(update('private-text-entities'), CONTEXT);
    const content = events[0]?.type === 'message.received' ? events[0].content : undefined;
    if (content?.type !== 'text') throw new Error('expected text');

    const marked = (content.entities ?? []).map((e) => content.text.slice(e.offset, e.offset + e.length));
    expect(marked).toEqual(['Mina', '@acme_support_bot', 'https://acme.example/o/A-1029', 'late', 'Haruto', '/help']);
    // Decomposed "é" (e + U+0301) stays decomposed: no Unicode normalization.
    expect(content.text).toContain('e\u0301cole');
    expect(content.text).not.toContain('\u00e9');
  });

  it('gives the same event ids for a redelivered update, and other ids for another bot', () => {
    const first = normalizeTelegramUpdate(update('callback-query'), CONTEXT);
    const again = normalizeTelegramUpdate(update('callback-query'), { ...CONTEXT, receivedAt: '2026-03-14T02:00:00.000Z' });
    const otherBot = normalizeTelegramUpdate(update('callback-query'), { ...CONTEXT, accountId: '7700000001' });

    const ids = first.events.map((e) => e.eventId);
    expect(again.events.map((e) => e.eventId)).toEqual(ids);
    expect(new Set(ids).size).toBe(2);
    expect(otherBot.events.map((e) => e.eventId)).not.toContain(ids[0]);
  });

  it('puts two members of one group in one conversation, each as their own sender', () => {
    const [first] = normalizeTelegramUpdate(update('group-message-first'), CONTEXT).events;
    const [second] = normalizeTelegramUpdate(update('group-message-second'), CONTEXT).events;
    if (first?.type !== 'message.received' || second?.type !== 'message.received') throw new Error('expected messages');

    expect(second.conversation).toEqual(first.conversation);
    expect(first.conversation.kind).toBe('group');
    expect(second.sender.externalUserId).not.toBe(first.sender.externalUserId);
    expect(second.replyTo?.externalMessageId).toBe(first.externalMessageId);
  });

  it('picks the largest photo by pixel count, then by bytes, whatever the order', () => {
    const size = (file_id: string, width: number, height: number, file_size?: number): TelegramPhotoSize => ({
      file_id,
      file_unique_id: `u-${file_id}`,
      width,
      height,
      ...(file_size !== undefined && { file_size }),
    });
    expect(largestPhotoSize([size('big', 1280, 960), size('small', 90, 67), size('mid', 320, 240)])?.file_id).toBe('big');
    expect(largestPhotoSize([size('heavier', 800, 600, 90_000), size('lighter', 800, 600, 40_000)])?.file_id).toBe('heavier');
    expect(largestPhotoSize([])).toBeUndefined();
  });

  it('answers a tap on a keyboard Parley no longer sees with the data as label, in the tapping user chat', () => {
    // Prepare: inline-mode message (no message at all) and an inaccessible message (date 0, no keyboard).
    const inline = update('callback-query');
    delete inline.callback_query?.message;
    const inaccessible = update('callback-query');
    inaccessible.callback_query!.message = { message_id: 1207, chat: { id: 5550101234, type: 'private' }, date: 0 };

    // Act
    const inlineEvents = normalizeTelegramUpdate(inline, CONTEXT).events;
    const inaccessibleEvents = normalizeTelegramUpdate(inaccessible, CONTEXT).events;

    // Assess
    const [tap, answer] = inlineEvents;
    expect(tap).toMatchObject({
      type: 'message.received',
      conversation: { externalId: '5550101234', kind: 'direct' },
      content: { type: 'reply', text: 'ship:exp:A-1029', payload: 'ship:exp:A-1029' },
    });
    expect(tap).not.toHaveProperty('replyTo');
    expect(answer).toMatchObject({ type: 'provider.action.requested', action: 'answerCallbackQuery' });
    expect(inaccessibleEvents[0]).toMatchObject({
      content: { type: 'reply', text: 'ship:exp:A-1029' },
      replyTo: { externalMessageId: '5550101234:1207' },
    });
    expectValidEvents([...inlineEvents, ...inaccessibleEvents]);
  });

  it('takes the chat as sender when a message is sent on behalf of a chat (anonymous group admin)', () => {
    const anonymous = update('group-message-first');
    const message = anonymous.message!;
    message.from = { id: 1087968824, is_bot: true, first_name: 'Group', username: 'GroupAnonymousBot' };
    message.sender_chat = { id: -1001987654321, title: 'ACME Wholesale Buyers', type: 'supergroup' };

    const [event] = normalizeTelegramUpdate(anonymous, CONTEXT).events;
    expect(event).toMatchObject({ sender: { externalUserId: '-1001987654321', displayName: 'ACME Wholesale Buyers' } });
  });

  it('turns an edited channel post into an outbound edit of the same message', () => {
    const post = update('channel-post');
    const edited: TelegramUpdate = {
      update_id: 804511230,
      edited_channel_post: { ...post.channel_post!, text: 'Store hours change from March 21.', edit_date: 1773448900 },
    };
    const [event] = normalizeTelegramUpdate(edited, CONTEXT).events;
    expect(event).toMatchObject({
      type: 'message.edited',
      direction: 'outbound',
      externalMessageId: '-1001122334455:88',
      occurredAt: '2026-03-14T00:31:40.000Z',
      editedAt: '2026-03-14T00:41:40.000Z',
      conversation: { kind: 'broadcast' },
    });
    expectValidEvents([event!]);
  });

  it('dates a message or an edit whose date no instant can hold by its arrival, rather than throwing', () => {
    // 9e12 seconds is past the last instant a Date holds (8.64e15 ms); the schema takes any integer.
    const far = update('reply');
    far.message!.date = 9e12;
    const backwards = update('reply');
    backwards.message!.date = -9e12;
    const edit = update('edited-message');
    edit.edited_message!.edit_date = 9e12;

    const [farEvent] = normalizeTelegramUpdate(far, CONTEXT).events;
    const [backwardsEvent] = normalizeTelegramUpdate(backwards, CONTEXT).events;
    const [editEvent] = normalizeTelegramUpdate(edit, CONTEXT).events;
    expect(farEvent).toMatchObject({ type: 'message.received', occurredAt: CONTEXT.receivedAt });
    expect(backwardsEvent).toMatchObject({ type: 'message.received', occurredAt: CONTEXT.receivedAt });
    expect(editEvent).toMatchObject({ type: 'message.edited', editedAt: CONTEXT.receivedAt });
    // At the edge, a date is still read as it is.
    const edge = update('reply');
    edge.message!.date = 8.64e12;
    expect(normalizeTelegramUpdate(edge, CONTEXT).events[0]).toMatchObject({ occurredAt: new Date(8.64e15).toISOString() });
    expectValidEvents([farEvent!, backwardsEvent!, editEvent!]);
  });

  it('maps an animation to video rather than to the document Telegram also sets, and a video note to video', () => {
    const base = update('reply').message!;
    delete base.text;
    delete base.reply_to_message;
    const gif = { file_id: 'CgACfakegif', file_unique_id: 'AgADgif', width: 320, height: 240, duration: 3, mime_type: 'video/mp4' };
    const animation: TelegramUpdate = { update_id: 1, message: { ...base, animation: gif, document: { ...gif } } };
    const note: TelegramUpdate = {
      update_id: 2,
      message: { ...base, video_note: { file_id: 'DQACfakenote', file_unique_id: 'AgADnote', length: 384, duration: 9 } },
    };

    const [gifEvent] = normalizeTelegramUpdate(animation, CONTEXT).events;
    const [noteEvent] = normalizeTelegramUpdate(note, CONTEXT).events;
    expect(gifEvent).toMatchObject({ content: { type: 'video', media: { id: 'CgACfakegif', mimeType: 'video/mp4', durationSeconds: 3 } } });
    expect(noteEvent).toMatchObject({ content: { type: 'video', media: { id: 'DQACfakenote', width: 384, height: 384 } } });
    expectValidEvents([gifEvent!, noteEvent!]);
  });

  it('never mistakes an unknown chat type for a one-to-one conversation', () => {
    const odd = update('reply');
    odd.message!.chat = { id: -42, type: 'some_future_type', title: 'Future' };
    const [event] = normalizeTelegramUpdate(odd, CONTEXT).events;
    expect(event).toMatchObject({ conversation: { externalId: '-42', kind: 'group' } });
  });

  it('ignores updates with nothing Parley can use, saying why', () => {
    const kickedFromGroup = update('my-chat-member-kicked');
    kickedFromGroup.my_chat_member!.chat = { id: -1001987654321, title: 'ACME Wholesale Buyers', type: 'supergroup' };
    const bare: TelegramUpdate = { update_id: 99 };

    expect(normalizeTelegramUpdate(kickedFromGroup, CONTEXT)).toStrictEqual({
      events: [],
      ignored: ['update 804511211: my_chat_member: bot is now kicked in supergroup chat -1001987654321'],
    });
    expect(normalizeTelegramUpdate(bare, CONTEXT)).toStrictEqual({ events: [], ignored: ['update 99: no content'] });
  });
});

describe('message field classification', () => {
  const messageFields = (loadTelegramSpec().types['Message']?.fields ?? []).map((field) => ({
    name: field.name,
    description: field.description ?? '',
  }));

  it('treats every field the Bot API calls a service message as one', () => {
    const service = messageFields.filter((f) => /service message/i.test(f.description)).map((f) => f.name);
    expect(service.length).toBeGreaterThan(30);
    for (const name of service) expect(SERVICE_MESSAGE_KEYS, name).toContain(name);
  });

  it('names only real Message fields as metadata or service (apart from the pre-7.0 forward fields)', () => {
    const known = new Set(messageFields.map((f) => f.name));
    const unknown = [...MESSAGE_METADATA_KEYS, ...SERVICE_MESSAGE_KEYS].filter((key) => !known.has(key));
    expect(unknown).toEqual([
      'forward_from',
      'forward_from_chat',
      'forward_from_message_id',
      'forward_signature',
      'forward_sender_name',
      'forward_date',
    ]);
  });
});

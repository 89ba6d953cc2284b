import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { NormalizeContext } from '../../../connectors/connector.ts';
import { messengerConnector } from '../../../connectors/messenger/index.ts';
import type { MessengerWebhook } from '../../../connectors/messenger/index.ts';
import { ParleyEventSchema, type ParleyEvent } from '../../../domain/events.ts';

const FIXTURES = new URL('../../fixtures/messenger/', import.meta.url);
const CONTEXT: NormalizeContext = { accountId: '106512345678901', receivedAt: '2026-03-14T01:00:00.000Z' };
const PAGE = '106512345678901';
const CUSTOMER = '7123456789012345';

const body = (scenario: string): Buffer => readFileSync(new URL(`${scenario}.json`, FIXTURES));
const json = (scenario: string): Record<string, unknown> => JSON.parse(body(scenario).toString('utf8')) as Record<string, unknown>;
const normalizeJson = (value: unknown) => {
  const parsed = messengerConnector.parse(Buffer.from(JSON.stringify(value), 'utf8'));
  if (parsed.kind !== 'ok') throw new Error(`${parsed.kind}: ${parsed.reason}`);
  return messengerConnector.normalize(parsed.payload, CONTEXT);
};
const normalize = (scenario: string) => normalizeJson(json(scenario));
const expectValid = (events: readonly ParleyEvent[]) => {
  for (const event of events) expect(ParleyEventSchema.parse(event)).toStrictEqual(event);
};
const item = (payload: Record<string, unknown>, timestamp = 1773448200000) => ({
  sender: { id: CUSTOMER },
  recipient: { id: PAGE },
  timestamp,
  ...payload,
});
const pageBody = (...items: object[]) => ({ object: 'page', entry: [{ id: PAGE, time: 1773448201400, messaging: items }] });

describe('messenger normalize', () => {
  it('reads every entry and every messaging item of a batch, each routed to its own Page', () => {
    // Act
    const { events, ignored } = normalize('batch');

    // Assess: 2 entries × (3 + 2) items → 5 events, none lost to "only the first".
    expect(ignored).toEqual([]);
    expect(events.map((e) => [e.type, e.accountId])).toEqual([
      ['message.received', '106512345678901'],
      ['message.received', '106512345678901'],
      ['message.status', '106512345678901'],
      ['message.received', '106598765432109'],
      ['message.received', '106598765432109'],
    ]);
    expectValid(events);
  });

  it("takes the account from the payload, never from the context's default account", () => {
    const { events } = messengerConnector.normalize((messengerConnector.parse(body('text')) as { payload: MessengerWebhook }).payload, {
      ...CONTEXT,
      accountId: 'default',
    });
    expect(events[0]?.accountId).toBe(PAGE);
  });

  it('keeps text byte-exact: escapes decoded once, nothing normalized', () => {
    const [event] = normalize('text-unicode-escapes').events;
    expect(event).toMatchObject({
      content: { type: 'text', text: 'Café crème à 10%? Ça coûte combien 😀 ana@example.com https://acme.example/o/A-1029 <b>' },
    });
    const decomposed = normalizeJson(pageBody(item({ message: { mid: 'm_nfd', text: 'e\u0301cole' } }))).events[0];
    expect(decomposed).toMatchObject({ content: { text: 'e\u0301cole' } });
  });

  it("turns an echo into an outbound message from the Page to the customer, with Parley's message id from the metadata", () => {
    const [event] = normalize('echo').events;
    expect(event).toMatchObject({
      type: 'message.received',
      direction: 'outbound',
      accountId: PAGE,
      sender: { externalUserId: PAGE },
      conversation: { externalId: CUSTOMER, kind: 'direct' },
      originMessageId: 'msg_mmpdc0a0mmpdc0a1_Zk3h2bTq9xWc1LpA',
    });
    expect(event).not.toHaveProperty('providerEventId');
    // A person typing in the Page inbox: still outbound, with nothing that claims it was Parley's.
    const [inbox] = normalize('echo-page-inbox').events;
    expect(inbox).toMatchObject({ direction: 'outbound' });
    expect(inbox).not.toHaveProperty('originMessageId');
  });

  it('renders a sticker sent both as image and as sticker once', () => {
    const { events } = normalize('sticker-transition');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ content: { type: 'sticker', media: { id: '369239263222822' } } });
  });

  it('gives each attachment of a message its own message, the first keeping the mid', () => {
    const { events } = normalize('several-images');
    expect(events.map((e) => (e.type === 'message.received' ? e.externalMessageId : ''))).toEqual([
      'm_AbCdEf0123456789images',
      'm_AbCdEf0123456789images#2',
    ]);
  });

  it('makes a lone media with text a captioned media, and drops the link preview of a typed link', () => {
    const captioned = normalizeJson(
      pageBody(
        item({
          message: {
            mid: 'm_cap',
            text: 'This one',
            attachments: [{ type: 'image', payload: { url: 'https://scontent.xx.fbcdn.net/a.jpg' } }],
          },
        }),
      ),
    );
    expect(captioned.events).toHaveLength(1);
    expect(captioned.events[0]).toMatchObject({ content: { type: 'image', caption: 'This one' } });
    expect(normalize('link-fallback').events).toHaveLength(1);
  });

  it('normalizes standby items like messaging ones; a standby postback has no payload', () => {
    const { events, ignored } = normalize('standby');
    expect(events.map((e) => (e.type === 'message.received' ? e.content : undefined))).toEqual([
      { type: 'text', text: 'Are you there?' },
      { type: 'reply', text: 'Talk to a person', payload: '' },
    ]);
    expect(ignored).toEqual(['entry 106512345678901 standby[2]: pass_thread_control events carry no customer message and are not handled']);
  });

  it('turns delivery mids into delivered statuses at the watermark, and a read watermark into reads of the messages it covers', () => {
    const delivered = normalize('delivery').events;
    expect(delivered).toHaveLength(2);
    expect(
      delivered.every((e) => e.type === 'message.status' && e.status === 'delivered' && e.occurredAt === '2026-03-14T00:29:59.800Z'),
    ).toBe(true);

    const { events } = normalize('read-watermark-same-body');
    const reads = events.filter((e) => e.type === 'message.status' && e.status === 'read');
    expect(reads.map((e) => (e.type === 'message.status' ? e.externalMessageId : ''))).toEqual(['m_OUT0123456789abcdef']);
    expect(normalize('read-watermark').ignored[0]).toMatch(/read watermark 1773448199500 .* names no message/);
  });

  it('identifies reactions by who, what, how and when: a redelivery has the same id, a later unreact another', () => {
    const [react] = normalize('reaction-react').events;
    const [unreact] = normalize('reaction-unreact').events;
    expect(react).toMatchObject({ content: { type: 'reaction', emoji: '❤️', targetExternalId: 'm_OUT0123456789abcdef' } });
    expect(unreact).toMatchObject({ content: { type: 'reaction', emoji: '', targetExternalId: 'm_OUT0123456789abcdef' } });
    expect(react?.eventId).not.toBe(unreact?.eventId);
    expect(normalize('reaction-react').events[0]?.eventId).toBe(react?.eventId);
  });

  it('gives each edit of a message its own event id', () => {
    const first = normalize('message-edit');
    const second = json('message-edit') as { entry: [{ messaging: [{ message_edit: { num_edit: number; text: string } }] }] };
    second.entry[0].messaging[0].message_edit.num_edit = 2;
    second.entry[0].messaging[0].message_edit.text = 'Size XL then';
    const again = normalizeJson(second);
    expect(first.events[0]).toMatchObject({ type: 'message.edited', externalMessageId: 'm_AbCdEf0123456789text' });
    expect(again.events[0]?.eventId).not.toBe(first.events[0]?.eventId);
  });

  it('skips an unreadable item and keeps the others of the batch', () => {
    const { events, ignored } = normalizeJson(
      pageBody(
        item({ message: { mid: 'm_ok1', text: 'one' } }),
        { sender: {}, message: { text: 'no ids' } },
        item({ message: { mid: 'm_ok2', text: 'two' } }),
      ),
    );
    expect(events).toHaveLength(2);
    expect(ignored).toHaveLength(1);
    expect(ignored[0]).toMatch(/^entry 106512345678901 messaging\[1\] is not readable: sender\.id/);
  });

  it('falls back to the time of receipt for an absent or absurd timestamp', () => {
    const absurd = normalizeJson(pageBody(item({ message: { mid: 'm_t', text: 'x' } }, 1e20)));
    const missing = normalizeJson(pageBody({ sender: { id: CUSTOMER }, recipient: { id: PAGE }, message: { mid: 'm_t2', text: 'x' } }));
    expect(absurd.events[0]?.occurredAt).toBe(CONTEXT.receivedAt);
    expect(missing.events[0]?.occurredAt).toBe(CONTEXT.receivedAt);
  });

  it('names an attachment it cannot show as unsupported, with a media URL that is not http(s) too', () => {
    const { events } = normalizeJson(
      pageBody(
        item({ message: { mid: 'm_u1', attachments: [{ type: 'appointment_booking', payload: null }] } }),
        item({ message: { mid: 'm_u2', attachments: [{ type: 'image', payload: { url: 'javascript:alert(1)' } }] } }),
        item({ message: { mid: 'm_u3', attachments: [{ type: 'location', payload: { coordinates: { lat: 37.5, long: 127.03 } } }] } }),
      ),
    );
    expect(events.map((e) => (e.type === 'message.received' ? e.content : undefined))).toEqual([
      { type: 'unsupported', providerType: 'appointment_booking' },
      { type: 'unsupported', providerType: 'image' },
      { type: 'location', latitude: 37.5, longitude: 127.03 },
    ]);
    expectValid(events);
  });
});

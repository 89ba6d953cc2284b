/**
 * connectors/meta/meta.messaging.normalize.ts at its edges, through the Messenger and Instagram connectors:
 * which read statuses a watermark becomes, how duplicate and unsupported attachments are told apart, when a
 * text becomes a caption, and the reasons listed for what is not turned into events. The fixtures cover
 * the documented payloads; these bodies are built to sit on each rule's boundary.
 */
import { describe, expect, it } from 'vitest';
import type { NormalizeContext } from '../../../connectors/connector.ts';
import { instagramConnector } from '../../../connectors/instagram/index.ts';
import { messengerConnector } from '../../../connectors/messenger/index.ts';
import type { Connector } from '../../../domain/connector.ts';
import { EVENT_SCHEMA_VERSION, type ParleyEvent } from '../../../domain/events.ts';

const PAGE = '106512345678901';
const CUSTOMER = '7123456789012345';
const RECEIVED_AT = '2026-03-14T01:00:00.000Z';
// The route's account is the Page too, so these tests hold whichever of the two names the account.
const CONTEXT: NormalizeContext = { accountId: PAGE, receivedAt: RECEIVED_AT };
const AT = 1773448200000;

const run = (connector: Connector, body: unknown) => {
  const parsed = connector.parse(Buffer.from(JSON.stringify(body), 'utf8'));
  if (parsed.kind !== 'ok') throw new Error(`${parsed.kind}: ${parsed.reason}`);
  return connector.normalize(parsed.payload, CONTEXT);
};
const fromCustomer = (payload: Record<string, unknown>, timestamp: number | null = AT) => ({
  sender: { id: CUSTOMER },
  recipient: { id: PAGE },
  ...(timestamp !== null && { timestamp }),
  ...payload,
});
const fromPage = (payload: Record<string, unknown>, timestamp: number | null = AT) => ({
  sender: { id: PAGE },
  recipient: { id: CUSTOMER },
  ...(timestamp !== null && { timestamp }),
  ...payload,
});
const page = (...messaging: object[]) => ({ object: 'page', entry: [{ id: PAGE, time: AT, messaging }] });
const instagram = (...messaging: object[]) => ({ object: 'instagram', entry: [{ id: PAGE, time: AT, messaging }] });
const messenger = (...messaging: object[]) => run(messengerConnector, page(...messaging));
const contents = (events: readonly ParleyEvent[]) => events.map((e) => ('content' in e ? e.content : undefined));
const idOf = (e: ParleyEvent) => ('externalMessageId' in e ? e.externalMessageId : undefined);
const ids = (events: readonly ParleyEvent[]) => events.map(idOf);

describe('read watermarks', () => {
  const echo = (mid: string, timestamp: number | null) =>
    fromPage({ message: { mid, is_echo: true, text: 'Sent by the page' } }, timestamp);
  const read = (watermark: number) => fromCustomer({ read: { watermark } }, watermark + 50);

  it('marks read the echoes of the same body sent at or before the watermark, and no later one', () => {
    const { events } = messenger(echo('m_at', AT), echo('m_after', AT + 1), read(AT));
    const statuses = events.filter((e) => e.type === 'message.status');
    expect(statuses).toEqual([
      {
        schemaVersion: EVENT_SCHEMA_VERSION,
        eventId: expect.any(String),
        channel: 'messenger',
        accountId: PAGE,
        occurredAt: new Date(AT + 50).toISOString(),
        receivedAt: RECEIVED_AT,
        type: 'message.status',
        externalMessageId: 'm_at',
        status: 'read',
        recipient: { externalUserId: CUSTOMER },
      },
    ]);
  });

  it('dates a delivered message by its delivery watermark, not by when the delivery was reported', () => {
    const delivery = fromPage({}, null);
    const { events } = messenger(
      { ...delivery, sender: { id: CUSTOMER }, recipient: { id: PAGE }, timestamp: AT + 2000, delivery: { mids: ['m_1'], watermark: AT } },
      read(AT + 1000),
    );
    expect(events.map((e) => [e.type, idOf(e), 'status' in e ? e.status : undefined])).toEqual([
      ['message.status', 'm_1', 'delivered'],
      ['message.status', 'm_1', 'read'],
    ]);
  });

  it('marks a message named twice (echo and delivery) read once', () => {
    const { events } = messenger(echo('m_1', AT), fromCustomer({ delivery: { mids: ['m_1'], watermark: AT } }), read(AT + 10));
    expect(events.filter((e) => e.type === 'message.status' && e.status === 'read').map(idOf)).toEqual(['m_1']);
  });

  it('lists a watermark that names no message of the body, and a delivery without mids, among the ignored', () => {
    const { events, ignored } = messenger(read(AT), fromCustomer({ delivery: { watermark: AT } }));
    expect(events).toEqual([]);
    expect(ignored).toEqual([
      `entry ${PAGE} messaging[0]: read watermark ${AT} from ${CUSTOMER} names no message (every earlier message was read)`,
      `entry ${PAGE} messaging[1]: delivery watermark ${AT} from ${CUSTOMER} names no message`,
    ]);
  });
});

describe('attachments', () => {
  const message = (attachments: object[], extra: Record<string, unknown> = {}) =>
    fromCustomer({ message: { mid: 'm_1', attachments, ...extra } });

  it('keeps two unsupported attachments as two events', () => {
    const { events } = messenger(message([{ type: 'template', payload: null }, { type: 'appointment_booking' }]));
    expect(ids(events)).toEqual(['m_1', 'm_1#2']);
    expect(contents(events)).toStrictEqual([
      { type: 'unsupported', providerType: 'template' },
      { type: 'unsupported', providerType: 'appointment_booking' },
    ]);
  });

  it('reads a sticker without sticker id by its URL, one per URL', () => {
    const sticker = (url: string) => ({ type: 'sticker', payload: { url } });
    const { events } = messenger(
      message([sticker('https://cdn.example/s1.png'), sticker('https://cdn.example/s1.png'), sticker('https://cdn.example/s2.png')]),
    );
    expect(contents(events)).toStrictEqual([
      { type: 'sticker', media: { url: 'https://cdn.example/s1.png' } },
      { type: 'sticker', media: { url: 'https://cdn.example/s2.png' } },
    ]);
  });

  it('reads one sticker sent twice under different URLs once, by its sticker id', () => {
    const { events } = messenger(
      message([
        { type: 'image', payload: { url: 'https://cdn.example/old.png', sticker_id: 369239263222822 } },
        { type: 'sticker', payload: { url: 'https://cdn.example/new.png', sticker_id: '369239263222822' } },
      ]),
    );
    expect(contents(events)).toStrictEqual([{ type: 'sticker', media: { id: '369239263222822', url: 'https://cdn.example/old.png' } }]);
  });

  it('keeps a sticker id without a usable URL, and calls a URL-less sticker without id unsupported', () => {
    const { events } = messenger(
      message([
        { type: 'sticker', payload: { sticker_id: '1', url: 'ftp://cdn.example/s.png' } },
        { type: 'sticker', payload: {} },
      ]),
    );
    expect(contents(events)).toStrictEqual([
      { type: 'sticker', media: { id: '1' } },
      { type: 'unsupported', providerType: 'sticker' },
    ]);
  });

  it('takes http and https media, and nothing else or unparsable', () => {
    const { events } = messenger(
      message([
        { type: 'file', payload: { url: 'http://cdn.example/a.pdf' } },
        { type: 'file', payload: { url: 'https://cdn.example/b.pdf' } },
        { type: 'file', payload: { url: 'javascript:alert(1)' } },
        { type: 'file', payload: { url: 'not a url' } },
      ]),
    );
    expect(contents(events)).toStrictEqual([
      { type: 'file', media: { url: 'http://cdn.example/a.pdf' } },
      { type: 'file', media: { url: 'https://cdn.example/b.pdf' } },
      { type: 'unsupported', providerType: 'file' },
      { type: 'unsupported', providerType: 'file' },
    ]);
  });

  it('reads shared posts and reels as titled media, one per media id, else one per URL', () => {
    const { events } = run(
      instagramConnector,
      instagram(
        fromCustomer({
          message: {
            mid: 'm_1',
            attachments: [
              { type: 'share', payload: { url: 'https://cdn.example/p1-a.jpg', ig_post_media_id: '1801' } },
              { type: 'ig_post', payload: { url: 'https://cdn.example/p1-b.jpg', ig_post_media_id: '1801', title: 'Spring sale' } },
              { type: 'post', payload: { url: 'https://cdn.example/p2.jpg' } },
              { type: 'post', payload: { url: 'https://cdn.example/p2.jpg' } },
              { type: 'ig_reel', payload: { url: 'https://cdn.example/r1-a.mp4', reel_video_id: '1901', title: 'How to' } },
              { type: 'reel', payload: { url: 'https://cdn.example/r1-b.mp4', reel_video_id: '1901' } },
              { type: 'reel', payload: { url: 'https://cdn.example/r2.mp4' } },
              { type: 'reel', payload: { url: 'https://cdn.example/r3.mp4' } },
              { type: 'reel', payload: {} },
            ],
          },
        }),
      ),
    );
    expect(contents(events)).toStrictEqual([
      { type: 'image', media: { id: '1801', url: 'https://cdn.example/p1-a.jpg' } },
      { type: 'image', media: { url: 'https://cdn.example/p2.jpg' } },
      { type: 'video', media: { id: '1901', url: 'https://cdn.example/r1-a.mp4' }, caption: 'How to' },
      { type: 'video', media: { url: 'https://cdn.example/r2.mp4' } },
      { type: 'video', media: { url: 'https://cdn.example/r3.mp4' } },
      { type: 'unsupported', providerType: 'reel' },
    ]);
  });

  it('reads a shared location with its title as name, and one without coordinates as unsupported', () => {
    const { events } = messenger(
      message([
        { type: 'location', payload: { title: 'ACME Store', coordinates: { lat: 37.5665, long: 126.978 } } },
        { type: 'location', payload: { coordinates: { lat: 1, long: 2 } } },
        { type: 'location', payload: { title: 'Nowhere' } },
      ]),
    );
    expect(contents(events)).toStrictEqual([
      { type: 'location', latitude: 37.5665, longitude: 126.978, name: 'ACME Store' },
      { type: 'location', latitude: 1, longitude: 2 },
      { type: 'unsupported', providerType: 'location' },
    ]);
  });

  it('makes the text the caption of one image, video, audio or file, and a message of its own beside anything else', () => {
    for (const type of ['image', 'video', 'audio', 'file'] as const) {
      const { events } = messenger(message([{ type, payload: { url: `https://cdn.example/${type}` } }], { text: 'Look' }));
      expect(contents(events), type).toStrictEqual([{ type, media: { url: `https://cdn.example/${type}` }, caption: 'Look' }]);
    }
    const sticker = messenger(message([{ type: 'sticker', payload: { url: 'https://cdn.example/s.png' } }], { text: 'Look' }));
    expect(contents(sticker.events)).toStrictEqual([
      { type: 'text', text: 'Look' },
      { type: 'sticker', media: { url: 'https://cdn.example/s.png' } },
    ]);
    const location = messenger(message([{ type: 'location', payload: { coordinates: { lat: 1, long: 2 } } }], { text: 'Here' }));
    expect(contents(location.events)).toStrictEqual([
      { type: 'text', text: 'Here' },
      { type: 'location', latitude: 1, longitude: 2 },
    ]);
  });

  it('quotes the replied-to message on the first part only', () => {
    const { events } = messenger(
      message(
        [
          { type: 'image', payload: { url: 'https://cdn.example/1.jpg' } },
          { type: 'image', payload: { url: 'https://cdn.example/2.jpg' } },
        ],
        {
          reply_to: { mid: 'm_0' },
        },
      ),
    );
    expect(events.map((e) => ('replyTo' in e ? e.replyTo : undefined))).toEqual([{ externalMessageId: 'm_0' }, undefined]);
  });

  it('lists a message with nothing in it among the ignored', () => {
    const { events, ignored } = messenger(message([]));
    expect(events).toEqual([]);
    expect(ignored).toEqual([`entry ${PAGE} messaging[0]: message m_1 has no content`]);
  });
});

describe('taps, reactions, edits and the rest', () => {
  it('names a tap without mid or time by who tapped what', () => {
    const { events } = messenger(fromCustomer({ postback: { title: 'Track', payload: 'TRACK' } }, null));
    expect(events).toMatchObject([
      {
        externalMessageId: `postback:${CUSTOMER}:0:TRACK`,
        occurredAt: RECEIVED_AT,
        content: { type: 'reply', text: 'Track', payload: 'TRACK' },
      },
    ]);
  });

  it('takes the time of receipt for a timestamp that is negative or past year 9999', () => {
    const { events } = messenger(
      fromCustomer({ message: { mid: 'm_neg', text: 'a' } }, -1),
      fromCustomer({ message: { mid: 'm_far', text: 'b' } }, 253_402_300_800_000),
      fromCustomer({ message: { mid: 'm_max', text: 'c' } }, 253_402_300_799_999),
    );
    expect(events.map((e) => e.occurredAt)).toEqual([RECEIVED_AT, RECEIVED_AT, '9999-12-31T23:59:59.999Z']);
  });

  it('gives an unreact an empty emoji whatever it names, and a reaction without emoji an empty one', () => {
    const { events } = messenger(
      fromCustomer({ reaction: { mid: 'm_1', action: 'unreact', emoji: '❤️', reaction: 'love' } }),
      fromCustomer({ reaction: { mid: 'm_1', action: 'react' } }),
      fromCustomer({ reaction: { mid: 'm_1', action: 'react', reaction: 'love' } }),
    );
    expect(contents(events)).toStrictEqual([
      { type: 'reaction', emoji: '', targetExternalId: 'm_1' },
      { type: 'reaction', emoji: '', targetExternalId: 'm_1' },
      { type: 'reaction', emoji: 'love', targetExternalId: 'm_1' },
    ]);
  });

  it('marks the unsend of an echo as outbound', () => {
    const { events } = run(instagramConnector, instagram(fromPage({ message: { mid: 'm_1', is_echo: true, is_deleted: true } })));
    expect(events).toMatchObject([
      { type: 'message.edited', direction: 'outbound', accountId: PAGE, conversation: { externalId: CUSTOMER } },
    ]);
  });

  it('says why an item, an edit or an entry gave no event', () => {
    const { events, ignored } = run(messengerConnector, {
      object: 'page',
      entry: [
        {
          id: PAGE,
          time: AT,
          messaging: [
            fromCustomer({ message_edit: { mid: 'm_1' } }),
            fromCustomer({ optin: { type: 'notification_messages' } }),
            fromCustomer({}),
          ],
        },
        { id: '106598765432109', time: AT, messaging: [] },
      ],
    });
    expect(events).toEqual([]);
    expect(ignored).toEqual([
      `entry ${PAGE} messaging[0]: edit of m_1 has no text`,
      `entry ${PAGE} messaging[1]: optin events carry no customer message and are not handled`,
      `entry ${PAGE} messaging[2]: no event in the item`,
      'entry 106598765432109: no messaging items',
    ]);
  });
});

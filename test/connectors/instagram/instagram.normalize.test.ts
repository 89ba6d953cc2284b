import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { NormalizeContext } from '../../../connectors/connector.ts';
import { instagramConnector } from '../../../connectors/instagram/index.ts';
import { UNSENT_PROVIDER_TYPE } from '../../../connectors/meta/meta.messaging.normalize.ts';

const FIXTURES = new URL('../../fixtures/instagram/', import.meta.url);
const CONTEXT: NormalizeContext = { accountId: '17841400123456789', receivedAt: '2026-03-14T01:00:00.000Z' };
const ACCOUNT = '17841400123456789';
const CUSTOMER = '1234567890123456';

const normalize = (scenario: string) => {
  const parsed = instagramConnector.parse(readFileSync(new URL(`${scenario}.json`, FIXTURES)));
  if (parsed.kind !== 'ok') throw new Error(`${parsed.kind}: ${parsed.reason}`);
  return instagramConnector.normalize(parsed.payload, CONTEXT);
};

describe('instagram normalize', () => {
  it('reads every entry and item of a batch, routed by each entry account', () => {
    const { events } = normalize('batch');
    expect(events.map((e) => [e.type, e.accountId])).toEqual([
      ['message.received', ACCOUNT],
      ['message.received', ACCOUNT],
      ['message.status', ACCOUNT],
      ['message.received', '17841400987654321'],
      ['message.received', '17841400987654321'],
    ]);
  });

  it('turns messaging_seen into a read status of the message it names', () => {
    expect(normalize('seen').events).toEqual([
      expect.objectContaining({ type: 'message.status', status: 'read', recipient: { externalUserId: CUSTOMER } }),
    ]);
  });

  it('keeps a shared post once although Instagram sends it as share and ig_post', () => {
    const { events } = normalize('share-post');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      content: { type: 'image', media: { id: '18055555555555555' }, caption: 'New autumn collection 🍂' },
    });
  });

  it('does not hand story media to the media copier: a mention is unsupported, a story reply quotes the story by id', () => {
    expect(normalize('story-mention').events[0]).toMatchObject({ content: { type: 'unsupported', providerType: 'story_mention' } });
    expect(normalize('story-reply').events[0]).toMatchObject({
      content: { type: 'text', text: 'How much is it?' },
      replyTo: { externalMessageId: 'story:18088888888888888' },
    });
  });

  it('replaces an unsent message with an unsupported placeholder, as an edit of the same mid', () => {
    const [sent] = normalize('text').events;
    const [unsent] = normalize('unsend').events;
    expect(unsent).toMatchObject({
      type: 'message.edited',
      externalMessageId: sent?.type === 'message.received' ? sent.externalMessageId : '',
      content: { type: 'unsupported', providerType: UNSENT_PROVIDER_TYPE },
      editedAt: '2026-03-14T00:31:30.000Z',
    });
  });

  it('turns an echo into an outbound message from the account to the customer', () => {
    expect(normalize('echo').events[0]).toMatchObject({
      direction: 'outbound',
      accountId: ACCOUNT,
      sender: { externalUserId: ACCOUNT },
      conversation: { externalId: CUSTOMER },
    });
  });

  it('turns ice breakers and postbacks into replies with their payload', () => {
    expect(normalize('icebreaker').events[0]).toMatchObject({
      content: { type: 'reply', text: 'What are your opening hours?', payload: 'ICEBREAKER_HOURS' },
    });
  });

  it("stores the App Dashboard's Test sample like a message, in the account that verified it", () => {
    // The sample's recipient (23245) is made up; a new user clicking "Test" should see it arrive all the same.
    const { events, ignored } = normalize('dashboard-test');
    expect(ignored).toEqual([]);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'message.received',
        accountId: CONTEXT.accountId,
        direction: 'inbound',
        externalMessageId: 'random_mid',
        sender: { externalUserId: '12334' },
        content: { type: 'text', text: 'random_text' },
        // "1527459824": a string of seconds, not the milliseconds of real items.
        occurredAt: '2018-05-27T22:23:44.000Z',
      }),
    ]);
  });

  it('ignores changes[] items of entries that are no Test sample', () => {
    const body = JSON.parse(readFileSync(new URL('dashboard-test.json', FIXTURES), 'utf8'));
    body.entry[0].id = ACCOUNT;
    const parsed = instagramConnector.parse(Buffer.from(JSON.stringify(body)));
    if (parsed.kind !== 'ok') throw new Error(parsed.reason);
    expect(instagramConnector.normalize(parsed.payload, CONTEXT)).toEqual({
      events: [],
      ignored: [`entry ${ACCOUNT} changes[0] (field messages) is not a messaging notification`],
    });
  });
});

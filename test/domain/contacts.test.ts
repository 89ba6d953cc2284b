/**
 * One customer across channels (domain/conversations/contacts.ts, erasure.ts) on the real store: profiles,
 * linking identities, merging contacts (and undoing it) while their identities keep writing, and erasing a
 * contact's personal data down to its messages and media. Contacts come from the thread writer fed the
 * providers' payloads, as in production.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FileMediaStore } from '../../adapters/local/file-media-store.ts';
import { LocalSecretStore } from '../../adapters/local/local-secrets.ts';
import { capabilitiesOf } from '../../connectors/capabilities.ts';
import { telegramConnector } from '../../connectors/telegram/index.ts';
import {
  absorbThread,
  ContactRuleError,
  eraseContact,
  linkIdentity,
  MAX_MERGED_IDENTITIES,
  mergeContacts,
  unmergeContacts,
  updateProfile,
} from '../../domain/conversations/contacts.ts';
import { ERASED_CONTENT, eraseMessages, erasedMessage, ErasureJobSchema } from '../../domain/conversations/erasure.ts';
import { applyEvent } from '../../domain/conversations/inbound.ts';
import type { Actor, Contact } from '../../domain/conversations/model.ts';
import type { StoredMessage } from '../../domain/conversations/ports.ts';
import { newThread, type StoredThread } from '../../domain/conversations/threads.ts';
import type { MessageReceivedEvent, ParleyEvent } from '../../domain/events.ts';
import { copyMedia, mediaKeyOf } from '../../domain/media.ts';
import { newMessageId } from '../../domain/message-ids.ts';
import { NEW_RECORD } from '../../domain/shared/store.ts';
import { FAKE_TELEGRAM_FILE, startFakeTelegram, type FakeTelegram } from '../helpers/fake-telegram.ts';
import { captureLog, fixtureEvent, startConversations, type ConversationHarness } from '../helpers/conversations.ts';

let h: ConversationHarness;
beforeEach(async () => {
  h = await startConversations();
});
afterEach(() => h.stop());

const OPS: Actor = { type: 'api_key', id: 'key_ops' };
const AT = '2026-03-14T02:00:00.000Z';

const apply = (event: ParleyEvent) =>
  applyEvent(event, { store: h.store, log: captureLog(), clock: h.clock, capabilities: capabilitiesOf });

const minaText = fixtureEvent('telegram', 'private-text-entities', 'message.received');
const minaPhoto = fixtureEvent('telegram', 'photo-caption', 'message.received');
const sheenaText = fixtureEvent('whatsapp', 'batch-two-numbers', 'message.received', 0);
const sheenaReply = fixtureEvent('whatsapp', 'reply-context', 'message.received');
const lineText = fixtureEvent('line', 'text', 'message.received');
const groupFirst = fixtureEvent('telegram', 'group-message-first', 'message.received');

/** Writes the event through the thread writer; answers the contact and thread it landed in. */
const customer = async (event: MessageReceivedEvent) => {
  await apply(event);
  const identity = await h.store.getIdentity({
    channel: event.channel,
    accountId: event.accountId,
    externalUserId: event.conversation.externalId,
  });
  if (!identity) throw new Error('no identity');
  return {
    contactId: identity.value.contactId,
    threadId: identity.value.threadId,
    key: { channel: event.channel, accountId: event.accountId, externalUserId: event.conversation.externalId },
  };
};
const contactOf = async (id: string) => (await h.store.getContact(id))?.value;
const threadOf = async (id: string) => (await h.store.getThread(id))?.value;
/** A thread's messages as the API lists them: its own and those of the threads merged into it. */
const historyOf = async (threadId: string): Promise<StoredMessage[]> => {
  const thread = await threadOf(threadId);
  const items: StoredMessage[] = [];
  let cursor: string | undefined;
  do {
    const page = await h.store.listMessages([threadId, ...(thread?.mergedThreads ?? [])], 7, cursor);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
};
const ruleError = async (promise: Promise<unknown>): Promise<ContactRuleError> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ContactRuleError) return error;
    throw error;
  }
  throw new Error('expected a ContactRuleError');
};

describe('updateProfile', () => {
  it('sets fields, normalizes email and phone (unverified), sets and removes attributes, and records contact.updated', async () => {
    const mina = await customer(minaText);
    const updated = await updateProfile(
      h.store,
      mina.contactId,
      {
        name: 'Mina Park-Lee',
        email: '  Mina@Example.COM ',
        phone: '+82 10-5550-1234',
        locale: 'ko-KR',
        attributes: { tier: 'gold', orders: 3 },
      },
      AT,
    );
    const before = await h.eventsOf('contact.updated');
    expect(updated).toMatchObject({
      name: 'Mina Park-Lee',
      email: 'mina@example.com',
      phone: '+821055501234',
      phoneVerified: false,
      locale: 'ko-KR',
      attributes: { tier: 'gold', orders: 3 },
      updatedAt: AT,
    });
    expect(await contactOf(mina.contactId)).toEqual(updated);
    expect(before.map((e) => [e.createdAt, e.type === 'contact.updated' && e.data.changes])).toEqual([
      [AT, ['name', 'email', 'locale', 'phone', 'attributes']],
    ]);
    expect(before[0]).toMatchObject({ data: { contact: { id: mina.contactId, email: 'mina@example.com' } } });
    // Found by the email and the phone it now has.
    expect((await h.store.findContacts({ email: 'MINA@example.com' })).map((c) => c.id)).toEqual([mina.contactId]);
    expect((await h.store.findContacts({ phone: '+821055501234' })).map((c) => c.id)).toEqual([mina.contactId]);

    const cleared = await updateProfile(
      h.store,
      mina.contactId,
      { name: null, email: null, phone: null, locale: null, attributes: { tier: null } },
      '2026-03-14T03:00:00.000Z',
    );
    expect(cleared).not.toHaveProperty('name');
    expect(cleared).not.toHaveProperty('email');
    expect(cleared).not.toHaveProperty('phone');
    expect(cleared).not.toHaveProperty('phoneVerified');
    expect(cleared).not.toHaveProperty('locale');
    expect(cleared.attributes).toEqual({ orders: 3 });
    expect((await h.eventsOf('contact.updated')).at(-1)).toMatchObject({
      data: { changes: ['name', 'email', 'locale', 'phone', 'attributes'] },
    });
    expect(await h.store.findContacts({ email: 'mina@example.com' })).toEqual([]);
  });

  it('writes nothing when nothing changes', async () => {
    const mina = await customer(minaText);
    await updateProfile(h.store, mina.contactId, { email: 'mina@example.com', phone: '+821055501234', attributes: { tier: 'gold' } }, AT);
    const before = await h.store.getContact(mina.contactId);
    const records = (await h.records()).length;
    const same = await updateProfile(
      h.store,
      mina.contactId,
      { name: 'Mina Park', email: 'MINA@example.com', phone: '+82 10 5550 1234', attributes: { tier: 'gold', gone: null } },
      '2026-03-14T05:00:00.000Z',
    );
    expect(same).toEqual(before?.value);
    expect(await h.store.getContact(mina.contactId)).toEqual(before);
    expect((await h.records()).length).toBe(records);
    // Clearing what is not there changes nothing either.
    await updateProfile(h.store, mina.contactId, { locale: null }, '2026-03-14T05:00:00.000Z');
    expect(await h.store.getContact(mina.contactId)).toEqual(before);
  });

  it('refuses a phone that is no number and more than 50 attributes, changing nothing', async () => {
    const mina = await customer(minaText);
    const before = await h.store.getContact(mina.contactId);
    const phone = await ruleError(updateProfile(h.store, mina.contactId, { phone: 'call me maybe', name: 'X' }, AT));
    expect(phone).toMatchObject({
      code: 'invalid_request',
      message: 'phone "call me maybe" is not a phone number (E.164, like +14155550123)',
    });
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, n) => [`a${n}`, n]));
    const attributes = await ruleError(updateProfile(h.store, mina.contactId, { attributes: many }, AT));
    expect(attributes).toMatchObject({ code: 'invalid_request', message: 'a contact has at most 50 attributes' });
    expect(await h.store.getContact(mina.contactId)).toEqual(before);
  });

  it('keeps a verified phone verified when the same number is set again, and never moves updatedAt back', async () => {
    const mina = await customer(minaText);
    const contact = await h.store.getContact(mina.contactId);
    await h.store.commit([
      {
        kind: 'contact',
        op: 'put',
        value: { ...contact!.value, phone: '+821055501234', phoneVerified: true, updatedAt: '2026-03-14T09:00:00.000Z' },
        version: contact!.version,
      },
    ]);
    expect(await updateProfile(h.store, mina.contactId, { phone: '+821055501234' }, AT)).toMatchObject({ phoneVerified: true });
    expect(await updateProfile(h.store, mina.contactId, { locale: 'ko' }, AT)).toMatchObject({ updatedAt: '2026-03-14T09:00:00.000Z' });
  });

  it('refuses an unknown, a merged and an erased contact', async () => {
    const mina = await customer(minaText);
    const sheena = await customer(sheenaText);
    const line = await customer(lineText);
    expect(await ruleError(updateProfile(h.store, 'ct_nobody', { name: 'x' }, AT))).toMatchObject({
      code: 'not_found',
      message: 'No contact ct_nobody',
    });
    await mergeContacts(h.store, mina.contactId, sheena.contactId, 'same person', OPS, AT);
    expect(await ruleError(updateProfile(h.store, sheena.contactId, { name: 'x' }, AT))).toMatchObject({
      code: 'conflict',
      message: `Contact ${sheena.contactId} was merged into ${mina.contactId}`,
    });
    await eraseContact(h.store, line.contactId, OPS, AT);
    expect(await ruleError(updateProfile(h.store, line.contactId, { name: 'x' }, AT))).toMatchObject({
      code: 'conflict',
      message: `Contact ${line.contactId} was erased`,
    });
  });
});

describe('linkIdentity', () => {
  it('links a channel id the customer has not written from yet, so a notification can reach them there', async () => {
    const mina = await customer(minaText);
    const key = { channel: 'whatsapp' as const, accountId: '106540352242922', externalUserId: '821055501234' };
    const linked = await linkIdentity(h.store, mina.contactId, key, OPS, AT);
    const link = { reason: 'api_link', by: OPS, at: AT };
    expect(linked.identities.map((i) => [i.channel, i.externalUserId, i.link.reason])).toEqual([
      ['telegram', '5550101234', 'first_contact'],
      ['whatsapp', '821055501234', 'api_link'],
    ]);
    expect(linked.updatedAt).toBe(AT);
    expect((await h.store.getIdentity(key))?.value).toEqual({
      ...key,
      kind: 'direct',
      contactId: mina.contactId,
      threadId: mina.threadId,
      link,
      createdAt: AT,
    });
    expect(await h.store.listParticipantThreads('whatsapp', '821055501234')).toEqual([mina.threadId]);
    const linkedEvents = await h.eventsOf('identity.linked');
    expect(linkedEvents).toHaveLength(1);
    expect(linkedEvents[0]).toMatchObject({
      createdAt: AT,
      data: { contactId: mina.contactId, identity: key, reason: 'api_link', by: OPS },
    });
    expect((await h.eventsOf('contact.updated')).map((e) => e.type === 'contact.updated' && e.data.changes)).toEqual([['identities']]);

    // The customer then writes from it: into Mina's thread.
    const fromThere: MessageReceivedEvent = {
      ...sheenaText,
      sender: { externalUserId: '821055501234' },
      conversation: { externalId: '821055501234', kind: 'direct' },
    };
    await apply(fromThere);
    expect((await historyOf(mina.threadId)).map((m) => m.channel)).toEqual(['telegram', 'whatsapp']);
  });

  it("links the same person's id on another account of the channel, which shares the first's participant record", async () => {
    const sheena = await customer(sheenaText);
    const other = { channel: 'whatsapp' as const, accountId: '109876543210987', externalUserId: '16505551234' };
    await linkIdentity(h.store, sheena.contactId, { ...other, kind: 'direct' }, OPS, AT);
    expect((await h.store.getIdentity(other))?.value.threadId).toBe(sheena.threadId);
    expect(await h.store.listParticipantThreads('whatsapp', '16505551234')).toEqual([sheena.threadId]);
  });

  it("moves another contact's identity here; its past messages stay in that contact's thread", async () => {
    const mina = await customer(minaText);
    const sheena = await customer(sheenaText);
    const moved = await linkIdentity(h.store, mina.contactId, sheena.key, OPS, AT);
    expect(moved.identities.map((i) => i.channel)).toEqual(['telegram', 'whatsapp']);
    expect((await contactOf(sheena.contactId))?.identities).toEqual([]);
    expect((await contactOf(sheena.contactId))?.updatedAt).toBe(AT);
    expect((await h.store.getIdentity(sheena.key))?.value).toMatchObject({
      contactId: mina.contactId,
      threadId: mina.threadId,
      link: { reason: 'api_link', by: OPS, at: AT },
    });
    expect((await historyOf(sheena.threadId)).map((m) => m.externalId)).toEqual([sheenaText.externalMessageId]);
    await apply(sheenaReply);
    expect((await historyOf(mina.threadId)).map((m) => m.externalId)).toEqual([minaText.externalMessageId, sheenaReply.externalMessageId]);
    expect((await h.eventsOf('contact.updated')).map((e) => e.type === 'contact.updated' && e.data.contact.id).sort()).toEqual(
      [mina.contactId, sheena.contactId].sort(),
    );
  });

  it('changes nothing for an identity the contact has already', async () => {
    const mina = await customer(minaText);
    const records = (await h.records()).length;
    expect(await linkIdentity(h.store, mina.contactId, mina.key, OPS, AT)).toEqual(await contactOf(mina.contactId));
    expect((await h.records()).length).toBe(records);
  });

  it('refuses a contact that is not active', async () => {
    expect(
      await ruleError(linkIdentity(h.store, 'ct_none', { channel: 'line', accountId: 'U1', externalUserId: 'Ux' }, OPS, AT)),
    ).toMatchObject({ code: 'not_found' });
  });
});

describe('mergeContacts', () => {
  const setUp = async () => {
    const mina = await customer(minaText);
    await apply(minaPhoto);
    const sheena = await customer(sheenaText);
    await updateProfile(
      h.store,
      sheena.contactId,
      { email: 'sheena@example.com', phone: '+16505551234', locale: 'en-US', attributes: { tier: 'gold', region: 'US' } },
      '2026-03-14T01:30:00.000Z',
    );
    await updateProfile(h.store, mina.contactId, { attributes: { tier: 'silver' } }, '2026-03-14T01:30:00.000Z');
    return { mina, sheena };
  };

  it("gives the survivor the other's identities and missing profile fields, and leaves a tombstone", async () => {
    const { mina, sheena } = await setUp();
    const merged = await mergeContacts(h.store, mina.contactId, sheena.contactId, 'same person, told us by phone', OPS, AT);
    const link = { reason: 'merge', by: OPS, at: AT };
    expect(merged).toMatchObject({
      id: mina.contactId,
      state: 'active',
      name: 'Mina Park',
      email: 'sheena@example.com',
      phone: '+16505551234',
      // WhatsApp vouched for Sheena's number; giving the same number again keeps it verified.
      phoneVerified: true,
      locale: 'en-US',
      attributes: { tier: 'silver', region: 'US' },
      threadId: mina.threadId,
      updatedAt: AT,
    });
    expect(merged).not.toHaveProperty('mergedInto');
    expect(await contactOf(mina.contactId)).toEqual(merged);
    expect(merged.identities.map((i) => [i.channel, i.link])).toEqual([
      ['telegram', expect.objectContaining({ reason: 'first_contact' })],
      ['whatsapp', link],
    ]);
    expect(merged.merges).toEqual([
      {
        contactId: sheena.contactId,
        threadId: sheena.threadId,
        identities: [sheena.key],
        profile: { name: 'Sheena Nelson', phone: '+16505551234', email: 'sheena@example.com', locale: 'en-US' },
        filled: ['phone', 'email', 'locale'],
        reason: 'same person, told us by phone',
        by: OPS,
        at: AT,
      },
    ]);
    const tombstone = await contactOf(sheena.contactId);
    expect(tombstone).toMatchObject({ state: 'merged', mergedInto: mina.contactId, identities: [], updatedAt: AT, name: 'Sheena Nelson' });
    expect((await h.store.getIdentity(sheena.key))?.value).toMatchObject({ contactId: mina.contactId, threadId: mina.threadId, link });
    // Only the survivor is found by the phone and email.
    expect((await h.store.findContacts({ email: 'sheena@example.com' })).map((c) => c.id)).toEqual([mina.contactId]);
  });

  it('makes one open thread that lists both histories, in order, through mergedThreads', async () => {
    const { mina, sheena } = await setUp();
    await mergeContacts(h.store, mina.contactId, sheena.contactId, 'same person', OPS, AT);
    const thread = await threadOf(mina.threadId);
    expect(thread).toMatchObject({
      status: 'open',
      channels: ['telegram', 'whatsapp'],
      mergedThreads: [sheena.threadId],
      unread: 3,
      lastInboundChannel: 'whatsapp',
      lastCustomerMessageAt: sheenaText.occurredAt,
      updatedAt: AT,
    });
    expect(thread?.routes.map((r) => r.channel)).toEqual(['whatsapp', 'telegram']);
    expect((await threadOf(sheena.threadId))?.mergedInto).toBe(mina.threadId);
    expect((await historyOf(mina.threadId)).map((m) => m.externalId)).toEqual([
      minaText.externalMessageId,
      minaPhoto.externalMessageId,
      sheenaText.externalMessageId,
    ]);
    // The merged thread leaves the inbox; the survivor's is found by either contact's listing only through it.
    const inbox = await h.store.listThreads({ limit: 10 });
    expect(inbox.items.map((t) => t.id)).toEqual([mina.threadId]);
    expect((await h.store.listThreads({ contactId: sheena.contactId, limit: 10 })).items).toEqual([]);

    // Sheena writes again: into the survivor's thread, counted there.
    await apply(sheenaReply);
    expect((await historyOf(mina.threadId)).map((m) => m.externalId)).toEqual([
      minaText.externalMessageId,
      minaPhoto.externalMessageId,
      sheenaReply.externalMessageId,
      sheenaText.externalMessageId,
    ]);
    expect((await threadOf(mina.threadId))?.unread).toBe(4);
    expect((await threadOf(sheena.threadId))?.unread).toBe(1);
  });

  it('records contact.merged and thread.updated', async () => {
    const { mina, sheena } = await setUp();
    await mergeContacts(h.store, mina.contactId, sheena.contactId, 'same person', OPS, AT);
    const [merged, ...more] = await h.eventsOf('contact.merged');
    expect(more).toEqual([]);
    expect(merged).toMatchObject({
      createdAt: AT,
      data: { contact: { id: mina.contactId, state: 'active' }, mergedContactId: sheena.contactId, reason: 'same person', by: OPS },
    });
    const updates = (await h.eventsOf('thread.updated')).filter((e) => e.type === 'thread.updated' && e.data.thread.id === mina.threadId);
    expect(updates.map((e) => e.type === 'thread.updated' && [e.createdAt, e.data.changes, e.data.thread.mergedThreads])).toEqual([
      [AT, ['mergedThreads'], [sheena.threadId]],
    ]);
  });

  it("does not count again a merged contact's message that is delivered again after the merge", async () => {
    const { mina, sheena } = await setUp();
    await mergeContacts(h.store, mina.contactId, sheena.contactId, 'same person', OPS, AT);
    expect((await threadOf(mina.threadId))?.unread).toBe(3);
    await apply({ ...sheenaText, receivedAt: '2026-03-14T02:30:00.000Z' });
    expect((await threadOf(mina.threadId))?.unread).toBe(3);
    expect(await historyOf(mina.threadId)).toHaveLength(3);
  });

  it('folds chains: a survivor merged in turn brings every thread along', async () => {
    const { mina, sheena } = await setUp();
    const line = await customer(lineText);
    await mergeContacts(h.store, mina.contactId, sheena.contactId, 'same person', OPS, AT);
    await mergeContacts(h.store, line.contactId, mina.contactId, 'same person again', OPS, '2026-03-14T03:00:00.000Z');
    const thread = await threadOf(line.threadId);
    expect(thread?.mergedThreads).toEqual([mina.threadId, sheena.threadId]);
    expect(await historyOf(line.threadId)).toHaveLength(4);
    expect((await contactOf(line.contactId))?.identities.map((i) => i.channel).sort()).toEqual(['line', 'telegram', 'whatsapp']);
    // A message on the first merged identity follows both merges.
    await apply(sheenaReply);
    expect((await h.store.getIdentity(sheena.key))?.value.threadId).toBe(line.threadId);
    expect((await historyOf(line.threadId)).map((m) => m.externalId)).toContain(sheenaReply.externalMessageId);
  });

  it('refuses merging a contact into itself, an unknown, merged or erased one, and more identities than one transaction moves', async () => {
    const { mina, sheena } = await setUp();
    expect(await ruleError(mergeContacts(h.store, mina.contactId, mina.contactId, 'x', OPS, AT))).toMatchObject({
      code: 'invalid_request',
      message: 'A contact cannot be merged into itself',
    });
    expect(await ruleError(mergeContacts(h.store, mina.contactId, 'ct_none', 'x', OPS, AT))).toMatchObject({ code: 'not_found' });
    await mergeContacts(h.store, mina.contactId, sheena.contactId, 'x', OPS, AT);
    expect(await ruleError(mergeContacts(h.store, mina.contactId, sheena.contactId, 'x', OPS, AT))).toMatchObject({ code: 'conflict' });
    expect(await ruleError(mergeContacts(h.store, sheena.contactId, mina.contactId, 'x', OPS, AT))).toMatchObject({ code: 'conflict' });

    const line = await customer(lineText);
    const many = await h.store.getContact(line.contactId);
    const identities = Array.from({ length: MAX_MERGED_IDENTITIES + 1 }, (_, n) => ({
      ...many!.value.identities[0]!,
      externalUserId: `U${n}`,
    }));
    await h.store.commit([{ kind: 'contact', op: 'put', value: { ...many!.value, identities }, version: many!.version }]);
    expect(await ruleError(mergeContacts(h.store, mina.contactId, line.contactId, 'x', OPS, AT))).toMatchObject({
      code: 'invalid_request',
      message: `Contact ${line.contactId} has more than ${MAX_MERGED_IDENTITIES} identities; link them in parts`,
    });
  });
});

describe('absorbThread', () => {
  const base = (id: string, overrides: Partial<StoredThread>): StoredThread => ({
    ...newThread(id, `ct_${id}`, '2026-03-14T00:00:00.000Z'),
    ...overrides,
  });

  it('keeps the livelier status, the earliest start and first response, the latest activity, and adds the counts', () => {
    const survivor = base('a', {
      status: 'resolved',
      resolvedAt: '2026-03-14T05:00:00.000Z',
      assignee: null,
      tags: ['vip', 'billing'],
      attributes: { tier: 'silver' },
      unread: 1,
      createdAt: '2026-03-14T01:00:00.000Z',
      lastMessageAt: '2026-03-14T04:00:00.000Z',
      lastCustomerMessageAt: '2026-03-14T03:00:00.000Z',
      lastInboundChannel: 'telegram',
      firstResponseAt: '2026-03-14T03:30:00.000Z',
      lastAgentMessageAt: '2026-03-14T04:00:00.000Z',
      channels: ['telegram'],
      counted: ['m1'],
    });
    const merged = base('b', {
      status: 'snoozed',
      snoozedUntil: '2026-03-20T00:00:00.000Z',
      assignee: 'agent_7',
      tags: ['billing', 'late'],
      attributes: { tier: 'gold', region: 'US' },
      unread: 2,
      createdAt: '2026-03-13T00:00:00.000Z',
      updatedAt: '2026-03-14T06:00:00.000Z',
      lastMessageAt: '2026-03-14T03:30:00.000Z',
      lastCustomerMessageAt: '2026-03-14T03:30:00.000Z',
      lastInboundChannel: 'whatsapp',
      firstResponseAt: '2026-03-14T02:00:00.000Z',
      channels: ['whatsapp', 'telegram'],
      mergedThreads: ['c'],
      counted: ['m2', 'm3'],
    });
    const absorbed = absorbThread(survivor, merged, '2026-03-14T05:30:00.000Z');
    expect(absorbed).toMatchObject({
      id: 'a',
      contactId: 'ct_a',
      status: 'snoozed',
      snoozedUntil: '2026-03-20T00:00:00.000Z',
      channels: ['telegram', 'whatsapp'],
      lastInboundChannel: 'whatsapp',
      assignee: 'agent_7',
      tags: ['billing', 'late', 'vip'],
      attributes: { tier: 'silver', region: 'US' },
      unread: 3,
      mergedThreads: ['b', 'c'],
      createdAt: '2026-03-13T00:00:00.000Z',
      updatedAt: '2026-03-14T06:00:00.000Z',
      lastMessageAt: '2026-03-14T04:00:00.000Z',
      lastCustomerMessageAt: '2026-03-14T03:30:00.000Z',
      lastAgentMessageAt: '2026-03-14T04:00:00.000Z',
      firstResponseAt: '2026-03-14T02:00:00.000Z',
      resolvedAt: '2026-03-14T05:00:00.000Z',
    });
    expect(absorbed.counted).toEqual(['m1', 'm2', 'm3']);
  });

  it("keeps the survivor's status, snooze and last channel when they are the livelier and the latest", () => {
    const survivor = base('a', {
      status: 'snoozed',
      snoozedUntil: '2026-03-21T00:00:00.000Z',
      lastCustomerMessageAt: '2026-03-14T09:00:00.000Z',
      lastInboundChannel: 'line',
      assignee: 'agent_1',
    });
    const merged = base('b', {
      status: 'resolved',
      lastCustomerMessageAt: '2026-03-14T08:00:00.000Z',
      lastInboundChannel: 'telegram',
      assignee: 'agent_2',
    });
    expect(absorbThread(survivor, merged, '2026-03-14T10:00:00.000Z')).toMatchObject({
      status: 'snoozed',
      snoozedUntil: '2026-03-21T00:00:00.000Z',
      lastInboundChannel: 'line',
      assignee: 'agent_1',
    });
    const open = absorbThread(
      { ...survivor, status: 'open', snoozedUntil: undefined } as StoredThread,
      { ...merged, status: 'snoozed', snoozedUntil: '2026-03-22T00:00:00.000Z' },
      '2026-03-14T10:00:00.000Z',
    );
    expect(open.status).toBe('open');
    expect(open).not.toHaveProperty('snoozedUntil');
  });

  it('leaves out what neither thread has', () => {
    const absorbed = absorbThread(base('a', {}), base('b', {}), '2026-03-14T10:00:00.000Z');
    for (const field of ['lastInboundChannel', 'lastCustomerMessageAt', 'lastAgentMessageAt', 'firstResponseAt', 'snoozedUntil']) {
      expect(absorbed).not.toHaveProperty(field);
    }
    expect(absorbed.updatedAt).toBe('2026-03-14T10:00:00.000Z');
    expect(absorbed.tags).toEqual([]);
  });

  it('keeps at most 50 tags', () => {
    const tags = (prefix: string) => Array.from({ length: 30 }, (_, n) => `${prefix}${String(n).padStart(2, '0')}`);
    expect(absorbThread(base('a', { tags: tags('a') }), base('b', { tags: tags('b') }), AT).tags).toEqual(
      [...tags('a'), ...tags('b')].slice(0, 50),
    );
  });
});

describe('merging while both identities keep writing', () => {
  /** Applies the event as the queue does: a failed delivery is delivered again, until it is written. */
  const deliver = async (event: ParleyEvent) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await apply(event);
      } catch (error) {
        if (attempt >= 20) throw error;
      }
    }
  };
  const burst = (first: MessageReceivedEvent, n: number, tag: string): MessageReceivedEvent[] =>
    Array.from({ length: n }, (_, i) => ({
      ...first,
      eventId: `${first.eventId}-${tag}-${i}`,
      externalMessageId: `${first.externalMessageId}-${tag}-${i}`,
      occurredAt: new Date(Date.parse(first.occurredAt) + (i + 1) * 1000).toISOString(),
      content: { type: 'text', text: `${tag} ${i}` },
    }));

  it('loses and doubles nothing: every message listed once through the survivor, counted once', async () => {
    const rounds = 8;
    const perIdentity = 6;
    for (let round = 0; round < rounds; round++) {
      const a: MessageReceivedEvent = {
        ...minaText,
        conversation: { externalId: `a${round}`, kind: 'direct' },
        sender: { externalUserId: `a${round}` },
        externalMessageId: `a${round}:0`,
      };
      const b: MessageReceivedEvent = {
        ...sheenaText,
        conversation: { externalId: `b${round}`, kind: 'direct' },
        sender: { externalUserId: `b${round}` },
        externalMessageId: `b${round}:0`,
      };
      const first = await customer(a);
      const second = await customer(b);
      const fromA = burst(a, perIdentity, `a${round}`);
      const fromB = burst(b, perIdentity, `b${round}`);
      // Each identity's events in order (one conversation's queue order), the merge at some point among them.
      const writers = [fromA, fromB].map(async (events) => {
        for (const event of events) await deliver(event);
      });
      const merge = (async () => {
        await new Promise((resolve) => setTimeout(resolve, round * 3));
        return mergeContacts(h.store, first.contactId, second.contactId, 'same person', OPS, AT);
      })();
      await Promise.all([...writers, merge]);
      // Redelivered afterwards (each conversation's latest, within what a thread remembers counting): nothing doubled.
      await deliver(fromB[perIdentity - 1]!);
      await deliver(fromA[perIdentity - 1]!);

      const history = await historyOf(first.threadId);
      const ids = history.map((m) => m.externalId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.sort()).toEqual([a, b, ...fromA, ...fromB].map((e) => e.externalMessageId).sort());
      expect(history.filter((m) => m.channel === 'telegram')).toHaveLength(perIdentity + 1);
      expect(history.filter((m) => m.channel === 'whatsapp')).toHaveLength(perIdentity + 1);
      const thread = await threadOf(first.threadId);
      expect(thread?.unread).toBe(2 * (perIdentity + 1));
      expect(thread?.mergedThreads).toEqual([second.threadId]);
      expect((await contactOf(first.contactId))?.identities).toHaveLength(2);
      expect((await contactOf(second.contactId))?.state).toBe('merged');
    }
  });

  it('lets exactly one of two racing merges of the same contacts win', async () => {
    for (let round = 0; round < 6; round++) {
      const a = await customer({
        ...minaText,
        conversation: { externalId: `ra${round}`, kind: 'direct' },
        externalMessageId: `ra${round}:1`,
      });
      // Each round's WhatsApp customer has a number of their own (one number would join them all by verified phone).
      const b = await customer({
        ...sheenaText,
        sender: { ...sheenaText.sender, verifiedPhone: `+1650555${1000 + round}` },
        conversation: { externalId: `rb${round}`, kind: 'direct' },
        externalMessageId: `rb${round}:1`,
      });
      const c = await customer({
        ...lineText,
        conversation: { externalId: `rc${round}`, kind: 'direct' },
        externalMessageId: `rc${round}:1`,
      });
      // Opposite directions, and the same contact into two survivors.
      const races =
        round % 2 === 0
          ? [mergeContacts(h.store, a.contactId, b.contactId, 'x', OPS, AT), mergeContacts(h.store, b.contactId, a.contactId, 'y', OPS, AT)]
          : [
              mergeContacts(h.store, a.contactId, b.contactId, 'x', OPS, AT),
              mergeContacts(h.store, c.contactId, b.contactId, 'y', OPS, AT),
            ];
      const settled = await Promise.allSettled(races);
      const won = settled.filter((s) => s.status === 'fulfilled');
      const lost = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost[0]?.reason).toBeInstanceOf(ContactRuleError);
      expect(lost[0]?.reason).toMatchObject({ code: 'conflict' });
      const survivor = (won[0] as PromiseFulfilledResult<Contact>).value;
      // The three identities are each on exactly one active contact; the loser of the race changed nothing.
      const contacts = await Promise.all([a, b, c].map((x) => contactOf(x.contactId)));
      const active = contacts.filter((x): x is Contact => x?.state === 'active');
      expect(active.flatMap((x) => x.identities)).toHaveLength(3);
      expect(active.map((x) => x.id)).toContain(survivor.id);
      expect(contacts.filter((x) => x?.state === 'merged')).toHaveLength(1);
      expect(await h.eventsOf('contact.merged')).toHaveLength(round + 1);
    }
  });
});

describe('unmergeContacts', () => {
  it('empties the profile fields the merge filled in, but keeps those changed since', async () => {
    const mina = await customer(minaText);
    const sheena = await customer(sheenaText);
    await updateProfile(h.store, sheena.contactId, { email: 'sheena@example.com', locale: 'en-US' }, '2026-03-14T01:30:00.000Z');
    await mergeContacts(h.store, mina.contactId, sheena.contactId, 'looked alike', OPS, AT);
    expect(await contactOf(mina.contactId)).toMatchObject({
      phone: '+16505551234',
      phoneVerified: true,
      email: 'sheena@example.com',
      locale: 'en-US',
    });
    await updateProfile(h.store, mina.contactId, { email: 'mina@example.com' }, '2026-03-14T02:30:00.000Z');

    const { survivor } = await unmergeContacts(h.store, mina.contactId, sheena.contactId, OPS, '2026-03-14T03:00:00.000Z');
    expect(survivor).not.toHaveProperty('phone');
    expect(survivor).not.toHaveProperty('phoneVerified');
    expect(survivor).not.toHaveProperty('locale');
    expect(survivor.email).toBe('mina@example.com');
    expect(await contactOf(mina.contactId)).toEqual(survivor);
    expect((await h.store.findContacts({ phone: '+16505551234' })).map((c) => c.id)).toEqual([sheena.contactId]);
  });

  it('puts both contacts, their identities and their threads back as they were', async () => {
    const mina = await customer(minaText);
    const sheena = await customer(sheenaText);
    const minaBefore = await contactOf(mina.contactId);
    const sheenaBefore = await contactOf(sheena.contactId);
    await mergeContacts(h.store, mina.contactId, sheena.contactId, 'looked alike', OPS, AT);

    const undone = await unmergeContacts(h.store, mina.contactId, sheena.contactId, OPS, '2026-03-14T03:00:00.000Z');
    const backLink = { reason: 'merge', by: OPS, at: '2026-03-14T03:00:00.000Z' };
    expect(undone.survivor).toEqual({ ...minaBefore, updatedAt: '2026-03-14T03:00:00.000Z' });
    expect(undone.restored).toEqual({
      ...sheenaBefore,
      identities: [{ ...sheenaBefore!.identities[0]!, link: backLink }],
      updatedAt: '2026-03-14T03:00:00.000Z',
    });
    expect(await contactOf(sheena.contactId)).toEqual(undone.restored);
    expect(await contactOf(sheena.contactId)).not.toHaveProperty('mergedInto');
    expect((await h.store.getIdentity(sheena.key))?.value).toMatchObject({
      contactId: sheena.contactId,
      threadId: sheena.threadId,
      link: backLink,
    });
    const survivorThread = await threadOf(mina.threadId);
    expect(survivorThread?.mergedThreads).toEqual([]);
    expect(survivorThread?.routes.map((r) => r.channel)).toEqual(['telegram']);
    expect(await threadOf(sheena.threadId)).not.toHaveProperty('mergedInto');
    expect((await historyOf(mina.threadId)).map((m) => m.channel)).toEqual(['telegram']);
    expect((await historyOf(sheena.threadId)).map((m) => m.channel)).toEqual(['whatsapp']);
    const [event] = await h.eventsOf('contact.unmerged');
    expect(event).toMatchObject({
      createdAt: '2026-03-14T03:00:00.000Z',
      data: { contact: { id: mina.contactId }, restoredContactId: sheena.contactId, by: OPS },
    });
    // Sheena writes again: into her own thread.
    await apply(sheenaReply);
    expect((await historyOf(sheena.threadId)).map((m) => m.externalId)).toEqual([
      sheenaReply.externalMessageId,
      sheenaText.externalMessageId,
    ]);
  });

  it('keeps messages written meanwhile where they were written, and an identity since linked elsewhere where it is', async () => {
    const mina = await customer(minaText);
    const sheena = await customer(sheenaText);
    await mergeContacts(h.store, mina.contactId, sheena.contactId, 'looked alike', OPS, AT);
    await apply(sheenaReply);
    const line = await customer(lineText);
    await linkIdentity(h.store, line.contactId, sheena.key, OPS, '2026-03-14T02:30:00.000Z');
    const undone = await unmergeContacts(h.store, mina.contactId, sheena.contactId, OPS, '2026-03-14T03:00:00.000Z');
    expect(undone.restored.identities).toEqual([]);
    expect((await h.store.getIdentity(sheena.key))?.value.contactId).toBe(line.contactId);
    expect((await historyOf(mina.threadId)).map((m) => m.externalId)).toEqual([minaText.externalMessageId, sheenaReply.externalMessageId]);
  });

  it('refuses what is not a merge of the survivor', async () => {
    const mina = await customer(minaText);
    const sheena = await customer(sheenaText);
    expect(await ruleError(unmergeContacts(h.store, mina.contactId, sheena.contactId, OPS, AT))).toMatchObject({
      code: 'conflict',
      message: `Contact ${sheena.contactId} is not merged into ${mina.contactId}`,
    });
    await mergeContacts(h.store, mina.contactId, sheena.contactId, 'x', OPS, AT);
    await unmergeContacts(h.store, mina.contactId, sheena.contactId, OPS, AT);
    expect(await ruleError(unmergeContacts(h.store, mina.contactId, sheena.contactId, OPS, AT))).toMatchObject({ code: 'conflict' });
  });
});

describe('erasing a contact', () => {
  let telegram: FakeTelegram;
  let dir: string;
  let media: FileMediaStore;
  beforeAll(async () => {
    telegram = await startFakeTelegram();
    dir = mkdtempSync(join(tmpdir(), 'parley-erasure-'));
    media = new FileMediaStore(join(dir, 'media'));
  });
  afterAll(async () => {
    await telegram.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Mina's thread with a copied photo, in a group too, with attributes: everything erasure must reach. */
  const setUp = async () => {
    const mina = await customer(minaText);
    await apply(minaPhoto);
    await apply(groupFirst);
    const copied = await copyMedia(
      minaPhoto,
      { receiveCount: 1, maxReceiveCount: 5 },
      {
        store: h.store,
        media,
        secrets: new LocalSecretStore({
          telegram: { credentials: { webhookSecret: 's', botToken: '7712345678:AAtoken' }, accountId: '7712345678' },
        }),
        clock: h.clock,
        log: captureLog(),
        fetch: globalThis.fetch,
        apiBaseUrls: { telegram: telegram.baseUrl },
        connectorFor: () => telegramConnector,
      },
    );
    expect(copied.kind).toBe('copied');
    await updateProfile(h.store, mina.contactId, { email: 'mina@example.com', attributes: { tier: 'gold' } }, AT);
    const thread = await h.store.getThread(mina.threadId);
    await h.store.commit([
      { kind: 'thread', op: 'put', value: { ...thread!.value, attributes: { order: 'A-1029' } }, version: thread!.version },
    ]);
    return mina;
  };

  it('erases the profile and identities at once, and records contact.erased', async () => {
    const mina = await setUp();
    const erased = await eraseContact(h.store, mina.contactId, OPS, '2026-03-14T04:00:00.000Z');
    const created = (await h.eventsOf('contact.created'))[0]!;
    expect(erased).toEqual({
      id: mina.contactId,
      state: 'erased',
      attributes: {},
      identities: [],
      threadId: mina.threadId,
      merges: [],
      createdAt: created.createdAt,
      updatedAt: '2026-03-14T04:00:00.000Z',
    });
    expect(await contactOf(mina.contactId)).toEqual(erased);
    expect(await h.store.getIdentity(mina.key)).toBeUndefined();
    // Her channel id finds no thread any more: neither her own nor the group's.
    expect(await h.store.listParticipantThreads('telegram', '5550101234')).toEqual([]);
    expect(await h.store.findContacts({ email: 'mina@example.com' })).toEqual([]);
    const [event, ...more] = await h.eventsOf('contact.erased');
    expect(more).toEqual([]);
    expect(event).toEqual({
      id: expect.any(String),
      type: 'contact.erased',
      schemaVersion: 1,
      createdAt: '2026-03-14T04:00:00.000Z',
      data: { contactId: mina.contactId, by: OPS, identities: [{ channel: 'telegram', accountId: '7712345678' }] },
    });
    // Erasing again changes nothing.
    const records = (await h.records()).length;
    expect(await eraseContact(h.store, mina.contactId, OPS, '2026-03-14T05:00:00.000Z')).toEqual(erased);
    expect((await h.records()).length).toBe(records);
  });

  it('then erases the messages page by page: content, history, media and authors, routes and attributes', async () => {
    const mina = await setUp();
    // Enough messages for two pages.
    for (let n = 0; n < 55; n++) {
      await h.store.commit([
        {
          kind: 'message',
          op: 'put',
          value: {
            id: newMessageId(new Date('2026-03-14T03:00:00.000Z'), new Date(Date.parse('2026-03-14T03:00:00.000Z') + n), 'api', String(n)),
            threadId: mina.threadId,
            direction: 'outbound',
            channel: 'telegram',
            accountId: '7712345678',
            occurredAt: '2026-03-14T03:00:00.000Z',
            author: { role: 'agent', id: 'key_1' },
            content: { type: 'text', text: `Hello Mina, about order A-10${n}` },
            replyTo: { externalMessageId: '5550101234:1200' },
            status: 'sent',
          },
          version: NEW_RECORD,
        },
      ]);
    }
    await eraseContact(h.store, mina.contactId, OPS, '2026-03-14T04:00:00.000Z');
    const key = mediaKeyOf('telegram', '7712345678', minaPhoto.content.type === 'image' ? minaPhoto.content.media : { id: '' });
    expect(await media.head(key)).toEqual({ contentType: 'image/jpeg', size: FAKE_TELEGRAM_FILE.length });

    const job = ErasureJobSchema.parse({ kind: 'erase-messages', contactId: mina.contactId, threadIds: [mina.threadId] });
    const log = captureLog();
    const deps = { store: h.store, media, log, clock: h.clock };
    const next = await eraseMessages(job, deps);
    expect(next).toEqual({ ...job, cursor: expect.any(String) });
    expect(log.entries).toEqual([
      { level: 'info', message: 'messages erased', extra: { contactId: mina.contactId, count: 50, more: true } },
    ]);
    // The photo was on the first page: its copy is gone.
    expect(await media.head(key)).toBeUndefined();
    const thread = await threadOf(mina.threadId);
    expect(thread?.routes).toEqual([]);
    expect(thread?.attributes).toEqual({});

    expect(await eraseMessages(next!, deps)).toBeUndefined();
    expect(log.entries.at(-1)).toEqual({
      level: 'info',
      message: 'messages erased',
      extra: { contactId: mina.contactId, count: 7, more: false },
    });
    const history = await historyOf(mina.threadId);
    expect(history).toHaveLength(57);
    for (const message of history) {
      expect(message.content).toEqual(ERASED_CONTENT);
      expect(message.author).toEqual({ role: message.direction === 'inbound' ? 'customer' : 'agent' });
      for (const field of ['history', 'mediaCopy', 'replyTo', 'failure']) expect(message).not.toHaveProperty(field);
    }
    // What stays: that they existed, when, on which channel, and their status.
    expect(history[0]).toMatchObject({ direction: 'inbound', channel: 'telegram', occurredAt: minaText.occurredAt, status: 'received' });

    // A repeated job (after a crash) finds its page erased and writes nothing.
    const records = (await h.records()).length;
    await eraseMessages(job, deps);
    expect((await h.records()).length).toBe(records);
  });

  it('leaves the group thread, which is not hers, and starts anew when she writes again', async () => {
    const mina = await setUp();
    await eraseContact(h.store, mina.contactId, OPS, '2026-03-14T04:00:00.000Z');
    const group = await h.store.getIdentity({
      channel: 'telegram',
      accountId: '7712345678',
      externalUserId: groupFirst.conversation.externalId,
    });
    expect(group).toBeDefined();
    const again = await customer({
      ...minaText,
      eventId: 'evt_again',
      externalMessageId: '5550101234:1300',
      occurredAt: '2026-03-14T05:00:00.000Z',
      receivedAt: '2026-03-14T05:00:01.000Z',
    });
    expect(again.contactId).not.toBe(mina.contactId);
    expect(again.threadId).not.toBe(mina.threadId);
    expect((await historyOf(again.threadId)).map((m) => m.externalId)).toEqual(['5550101234:1300']);
  });

  it('refuses an unknown contact and a merged one (erase the survivor)', async () => {
    const mina = await customer(minaText);
    const sheena = await customer(sheenaText);
    expect(await ruleError(eraseContact(h.store, 'ct_none', OPS, AT))).toMatchObject({ code: 'not_found', message: 'No contact ct_none' });
    await mergeContacts(h.store, mina.contactId, sheena.contactId, 'x', OPS, AT);
    expect(await ruleError(eraseContact(h.store, sheena.contactId, OPS, AT))).toMatchObject({
      code: 'conflict',
      message: `Contact ${sheena.contactId} was merged into ${mina.contactId}; erase that one`,
    });
  });

  it("erases a survivor's merge records down to what they were about", async () => {
    const mina = await customer(minaText);
    const sheena = await customer(sheenaText);
    await mergeContacts(h.store, mina.contactId, sheena.contactId, 'x', OPS, AT);
    const erased = await eraseContact(h.store, mina.contactId, OPS, '2026-03-14T04:00:00.000Z');
    expect(erased.merges).toEqual([
      { contactId: sheena.contactId, threadId: sheena.threadId, identities: [], profile: {}, reason: 'x', by: OPS, at: AT },
    ]);
    expect(await h.store.getIdentity(sheena.key)).toBeUndefined();
    expect((await h.eventsOf('contact.erased'))[0]).toMatchObject({
      data: {
        identities: [
          { channel: 'telegram', accountId: '7712345678' },
          { channel: 'whatsapp', accountId: '106540352242922' },
        ],
      },
    });
  });
});

describe('erasedMessage', () => {
  it('keeps what says a message existed and nothing personal', () => {
    const message: StoredMessage = {
      id: 'msg_1',
      threadId: 'th_1',
      contactId: 'ct_1',
      direction: 'inbound',
      channel: 'whatsapp',
      accountId: '106540352242922',
      externalId: 'wamid.A',
      occurredAt: '2026-03-14T00:00:00.000Z',
      editedAt: '2026-03-14T00:01:00.000Z',
      history: [{ content: { type: 'text', text: 'first' }, replacedAt: '2026-03-14T00:01:00.000Z' }],
      author: { role: 'customer', id: 'ct_1', externalUserId: '16505551234', displayName: 'Sheena Nelson' },
      content: { type: 'text', text: 'second' },
      replyTo: { externalMessageId: 'wamid.B' },
      status: 'received',
      mediaCopy: { key: 'whatsapp/x/y', contentType: 'image/jpeg', size: 3, copiedAt: '2026-03-14T00:02:00.000Z' },
    };
    expect(erasedMessage(message)).toEqual({
      id: 'msg_1',
      threadId: 'th_1',
      contactId: 'ct_1',
      direction: 'inbound',
      channel: 'whatsapp',
      accountId: '106540352242922',
      externalId: 'wamid.A',
      occurredAt: '2026-03-14T00:00:00.000Z',
      editedAt: '2026-03-14T00:01:00.000Z',
      author: { role: 'customer' },
      content: { type: 'unsupported', providerType: 'erased' },
      status: 'received',
    });
  });
});

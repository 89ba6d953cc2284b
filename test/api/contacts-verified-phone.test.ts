/**
 * Identities join a contact on their own only on a phone number the providers vouch for: a WhatsApp number
 * (WhatsApp verified it) and the number a Telegram user shares as their own contact. Whichever comes first,
 * the customer ends up as one contact with one thread holding both histories; weaker evidence joins nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Message } from '../../domain/conversations/model.ts';
import { NEW_RECORD } from '../../domain/shared/store.ts';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';

let harness: ApiHarness;
beforeEach(async () => {
  harness = await startApiHarness();
});
afterEach(async () => {
  await harness.stop();
});

const PHONE = '+821055501234';
const MINUTE = 60_000;
const text = (value: string) => ({ content: { type: 'text' as const, text: value } });
const contactsWithPhone = async (phone: string) =>
  ((await harness.get('/v1/contacts', { query: { phone } })).json.items as { id: string; identities: { channel: string }[] }[]).map(
    (c) => ({
      id: c.id,
      channels: c.identities.map((i) => i.channel).sort(),
    }),
  );
const historyOf = async (threadId: string) =>
  ((await harness.get(`/v1/threads/${threadId}/messages`, { query: { limit: '100' } })).json.items as Message[]).map((m) =>
    m.content.type === 'text' ? `${m.channel}: ${m.content.text}` : `${m.channel}: ${m.content.type}`,
  );

describe('a phone number the providers vouch for', () => {
  it('joins a Telegram user who shares their own number to the contact of that WhatsApp number, with both histories', async () => {
    const whatsapp = await harness.customerWrites('whatsapp', '821055501234', { verifiedPhone: PHONE, ...text('Hi from WhatsApp') });
    harness.clock.advance(MINUTE);
    const telegram = await harness.customerWrites('telegram', '5550101234', text('Hi from Telegram'));
    expect(telegram.contactId).not.toBe(whatsapp.contactId);
    harness.clock.advance(MINUTE);

    const shared = await harness.customerWrites('telegram', '5550101234', {
      verifiedPhone: PHONE,
      content: { type: 'contact', name: 'Mina', phoneNumbers: [PHONE] },
    });

    // The message that proved it lands in the surviving thread, with everything before it.
    expect(shared.threadId).toBe(whatsapp.threadId);
    expect(await contactsWithPhone(PHONE)).toEqual([{ id: whatsapp.contactId, channels: ['telegram', 'whatsapp'] }]);
    expect(await historyOf(whatsapp.threadId)).toEqual(['whatsapp: Hi from WhatsApp', 'telegram: Hi from Telegram', 'telegram: contact']);
    const open = (await harness.get('/v1/threads', { query: { contactId: whatsapp.contactId, status: 'open' } })).json.items;
    expect(open.map((t: { id: string }) => t.id)).toEqual([whatsapp.threadId]);
    // Recorded as a merge the system made, for this reason, and published.
    const survivor = (await harness.get(`/v1/contacts/${whatsapp.contactId}`)).json;
    expect(survivor.merges).toMatchObject([{ contactId: telegram.contactId, reason: 'verified_phone', by: { type: 'system' } }]);
    const merged = (await harness.outbox()).events.filter((e) => e.type === 'contact.merged');
    expect(merged.map((e) => e.data)).toMatchObject([
      { contact: { id: whatsapp.contactId }, mergedContactId: telegram.contactId, reason: 'verified_phone' },
    ]);
    // And a later message on either identity lands in the same thread.
    harness.clock.advance(MINUTE);
    expect((await harness.customerWrites('telegram', '5550101234', text('again'))).threadId).toBe(whatsapp.threadId);
  });

  it('joins a WhatsApp number that writes after a Telegram user shared it as their own', async () => {
    const telegram = await harness.customerWrites('telegram', '5550101234', text('Hi from Telegram'));
    harness.clock.advance(MINUTE);
    await harness.customerWrites('telegram', '5550101234', {
      verifiedPhone: PHONE,
      content: { type: 'contact', name: 'Mina', phoneNumbers: [PHONE] },
    });
    const profile = (await harness.get(`/v1/contacts/${telegram.contactId}`)).json;
    expect(profile).toMatchObject({ phone: PHONE, phoneVerified: true });
    harness.clock.advance(MINUTE);

    const whatsapp = await harness.customerWrites('whatsapp', '821055501234', { verifiedPhone: PHONE, ...text('Hi from WhatsApp') });

    expect(whatsapp.contactId).toBe(telegram.contactId);
    expect(whatsapp.threadId).toBe(telegram.threadId);
    expect(await contactsWithPhone(PHONE)).toEqual([{ id: telegram.contactId, channels: ['telegram', 'whatsapp'] }]);
  });

  it('joins nothing when two contacts already claim the number: neither is evidence enough', async () => {
    const first = await harness.customerWrites('whatsapp', '821055501234', { verifiedPhone: PHONE });
    // A second holder of the same verified number (two writers racing a lagging lookup can leave one).
    const held = await harness.conversations.getContact(first.contactId);
    if (!held) throw new Error('the contact was not stored');
    await harness.conversations.commit([
      { kind: 'contact', op: 'put', value: { ...held.value, id: 'ct_second_holder', identities: [] }, version: NEW_RECORD },
    ]);
    const telegram = await harness.customerWrites('telegram', '5550101234', text('hello'));
    harness.clock.advance(MINUTE);

    const shared = await harness.customerWrites('telegram', '5550101234', {
      verifiedPhone: PHONE,
      content: { type: 'contact', name: 'B', phoneNumbers: [PHONE] },
    });

    expect(shared.contactId).toBe(telegram.contactId);
    expect(shared.threadId).toBe(telegram.threadId);
    expect((await harness.get(`/v1/contacts/${telegram.contactId}`)).json.merges).toEqual([]);
    expect((await harness.get(`/v1/contacts/${first.contactId}`)).json.merges).toEqual([]);
  });

  it('ignores a phone in a group conversation, where the sender is not the conversation', async () => {
    const whatsapp = await harness.customerWrites('whatsapp', '821055501234', { verifiedPhone: PHONE });
    const inGroup = await harness.customerWrites('telegram', '5550101234', { group: '-100200300', verifiedPhone: PHONE });

    expect(inGroup.contactId).not.toBe(whatsapp.contactId);
    expect(await contactsWithPhone(PHONE)).toEqual([{ id: whatsapp.contactId, channels: ['whatsapp'] }]);
  });

  it('does not take a phone that is not a phone number', async () => {
    const telegram = await harness.customerWrites('telegram', '5550101234', text('hello'));
    await harness.customerWrites('telegram', '5550101234', { verifiedPhone: 'call me', ...text('x') });

    expect((await harness.get(`/v1/contacts/${telegram.contactId}`)).json.phone).toBeUndefined();
  });
});

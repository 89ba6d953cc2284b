/**
 * The phone numbers connectors vouch for (`sender.verifiedPhone`), the only key on which identities join a
 * contact on their own: a WhatsApp customer's number, and the number a Telegram user shares as their own.
 * Bodies are the providers' documented webhook shapes.
 */
import { describe, expect, it } from 'vitest';
import type { NormalizeContext } from '../../connectors/connector.ts';
import { telegramConnector } from '../../connectors/telegram/index.ts';
import { whatsappConnector } from '../../connectors/whatsapp/index.ts';
import type { Connector } from '../../domain/connector.ts';

const RECEIVED_AT = '2026-03-14T01:00:00.000Z';

const sendersOf = (connector: Connector, body: unknown, context: NormalizeContext) => {
  const parsed = connector.parse(Buffer.from(JSON.stringify(body), 'utf8'));
  if (parsed.kind !== 'ok') throw new Error(`not parsed: ${parsed.kind}`);
  return connector.normalize(parsed.payload, context).events.map((e) => ('sender' in e ? e.sender : undefined));
};

describe('WhatsApp', () => {
  const webhook = (message: Record<string, unknown>, contact: Record<string, unknown>) => ({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
              contacts: [contact],
              messages: [
                {
                  id: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
                  timestamp: '1773448013',
                  type: 'text',
                  text: { body: 'Hi' },
                  ...message,
                },
              ],
            },
          },
        ],
      },
    ],
  });
  const context = { accountId: '106540352242922', receivedAt: RECEIVED_AT };

  it("vouches for the customer's number, which WhatsApp verified, in E.164", () => {
    const senders = sendersOf(
      whatsappConnector,
      webhook({ from: '821055501234' }, { profile: { name: 'Mina' }, wa_id: '821055501234' }),
      context,
    );
    expect(senders).toEqual([expect.objectContaining({ externalUserId: '821055501234', verifiedPhone: '+821055501234' })]);
  });

  it('vouches for no number for a customer known only by a username (business-scoped id, no `from`)', () => {
    const senders = sendersOf(
      whatsappConnector,
      webhook(
        { from_user_id: 'US.13491208655302741918' },
        { profile: { name: 'Mina', username: 'mina' }, user_id: 'US.13491208655302741918' },
      ),
      context,
    );
    expect(senders).toHaveLength(1);
    expect(senders[0]).toMatchObject({ externalUserId: 'US.13491208655302741918' });
    expect(senders[0]?.verifiedPhone).toBeUndefined();
  });
});

describe('Telegram', () => {
  const update = (contact: Record<string, unknown>) => ({
    update_id: 900000001,
    message: {
      message_id: 77,
      from: { id: 5550101234, is_bot: false, first_name: 'Mina' },
      chat: { id: 5550101234, type: 'private', first_name: 'Mina' },
      date: 1773448013,
      contact,
    },
  });
  const context = { accountId: '7712345678', receivedAt: RECEIVED_AT };

  it('vouches for the number a user shares as their own contact (its user_id is theirs)', () => {
    const senders = sendersOf(
      telegramConnector,
      update({ phone_number: '+821055501234', first_name: 'Mina', user_id: 5550101234 }),
      context,
    );
    expect(senders).toEqual([expect.objectContaining({ externalUserId: '5550101234', verifiedPhone: '+821055501234' })]);
  });

  it("vouches for no number on someone else's contact card, or a card with no Telegram user", () => {
    const someoneElse = sendersOf(
      telegramConnector,
      update({ phone_number: '+821055509999', first_name: 'Joon', user_id: 5550109999 }),
      context,
    );
    const noUser = sendersOf(telegramConnector, update({ phone_number: '+821055501234', first_name: 'Mina' }), context);
    expect(someoneElse[0]?.verifiedPhone).toBeUndefined();
    expect(noUser[0]?.verifiedPhone).toBeUndefined();
  });

  it('vouches for no number on an ordinary message', () => {
    const body = {
      update_id: 900000002,
      message: {
        message_id: 78,
        from: { id: 5550101234, is_bot: false, first_name: 'Mina' },
        chat: { id: 5550101234, type: 'private' },
        date: 1773448013,
        text: '+821055501234',
      },
    };
    expect(sendersOf(telegramConnector, body, context)[0]?.verifiedPhone).toBeUndefined();
  });
});

/**
 * WhatsApp's kit for the shared conformance suite: `X-Hub-Signature-256` over the raw body, Meta's GET
 * handshake, and batches of messages in one change.
 */
import { createHmac } from 'node:crypto';
import { whatsappConnector } from '../../../connectors/whatsapp/index.ts';
import type { ConformanceKit } from '../conformance.ts';

/** The business number every fixture but the multi-number batch belongs to. */
export const PHONE_NUMBER_ID = '106540352242922';

/** Headers Meta would send with this body: the HMAC-SHA256 of the raw bytes with the app secret. */
export const signWhatsApp = (rawBody: Buffer, appSecret: string): Record<string, string> => ({
  'X-Hub-Signature-256': `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`,
});

/** A `messages` change carrying `n` text messages from `n` customers, as Meta batches them. */
export const whatsappBatch = (n: number): Buffer => {
  const customers = Array.from({ length: n }, (_, i) => String(16505550000 + i));
  const value = {
    messaging_product: 'whatsapp',
    metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID },
    contacts: customers.map((waId, i) => ({ profile: { name: `Customer ${i + 1}` }, wa_id: waId })),
    messages: customers.map((waId, i) => ({
      from: waId,
      id: `wamid.BATCH${String(i).padStart(6, '0')}`,
      timestamp: String(1773449000 + i),
      type: 'text',
      text: { body: `Message ${i + 1}` },
    })),
  };
  return Buffer.from(
    JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '102290129340398', changes: [{ value, field: 'messages' }] }] }),
    'utf8',
  );
};

/** A number of another app (another app secret), which no body signed with this kit's secret may name. */
const OTHER_PHONE_NUMBER_ID = '105550000000001';

/** The body with every change's `metadata.phone_number_id` set to `accountId`; undefined when none has one. */
const namingNumber = (json: unknown, accountId: string): unknown => {
  let named = false;
  for (const entry of (json as { entry?: { changes?: { value?: { metadata?: { phone_number_id?: string } } }[] }[] }).entry ?? []) {
    for (const change of entry.changes ?? []) {
      if (change.value?.metadata?.phone_number_id === undefined) continue;
      change.value.metadata.phone_number_id = accountId;
      named = true;
    }
  }
  return named ? json : undefined;
};

export const kit: ConformanceKit = {
  connector: whatsappConnector,
  // Shaped like real ones: a 32-hex app secret, a verify token of the integrator's choosing, an EAA token.
  credentials: {
    appSecret: '3f1c9b2e7a6d4058b1e2c3d4e5f60718',
    verifyToken: 'parley-verify-Token_0123456789',
    accessToken: 'EAAGm0PX4ZCpsBAconformanceTestToken0123456789',
    phoneNumberId: PHONE_NUMBER_ID,
  },
  fixturesDir: new URL('../../fixtures/whatsapp/', import.meta.url),
  sign: (rawBody, credentials) => signWhatsApp(rawBody, credentials['appSecret'] ?? ''),
  handshake: {
    valid: {
      method: 'GET',
      headers: {},
      query: { 'hub.mode': 'subscribe', 'hub.challenge': '1158201444', 'hub.verify_token': 'parley-verify-Token_0123456789' },
    },
    expectedBody: '1158201444',
  },
  signsBody: true,
  batch: whatsappBatch,
  context: { accountId: PHONE_NUMBER_ID, receivedAt: '2026-03-14T01:00:00.000Z' },
  // Another number of the same app: the same app secret and verify token, its own id and token.
  sameAppAccount: (accountId) => ({
    appSecret: '3f1c9b2e7a6d4058b1e2c3d4e5f60718',
    verifyToken: 'parley-verify-Token_0123456789',
    accessToken: 'EAAGm0PX4ZCpsBAsecondNumberToken0123456789',
    phoneNumberId: accountId,
  }),
  otherAccount: {
    accountId: OTHER_PHONE_NUMBER_ID,
    credentials: {
      appSecret: '9a8b7c6d5e4f30211203f4e5d6c7b8a9',
      verifyToken: 'other-app-verify-Token_9876543210',
      accessToken: 'EAAGm0PX4ZCpsBAotherAppToken0123456789',
      phoneNumberId: OTHER_PHONE_NUMBER_ID,
    },
    naming: namingNumber,
  },
  malformedBody: Buffer.from('{"object":"whatsapp_business_account","entry":[', 'utf8'),
  malformedStatus: 400,
};

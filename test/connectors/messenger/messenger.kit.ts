/** The Messenger connector's entry in the shared conformance suite. */
import { createHmac } from 'node:crypto';
import type { Credentials } from '../../../connectors/connector.ts';
import { messengerConnector } from '../../../connectors/messenger/index.ts';
import type { ConformanceKit } from '../conformance.ts';

export const MESSENGER_TEST_CREDENTIALS: Credentials = {
  appSecret: 'test-messenger-app-secret-0123456789abcdef',
  verifyToken: 'test-messenger-verify-token',
  pageAccessToken: 'EAAtestPageAccessTokenForParley0123456789',
  pageId: '106512345678901',
};

/** `X-Hub-Signature-256` as Meta computes it: HMAC-SHA256 of the raw bytes with the app secret. */
export const signMeta = (rawBody: Buffer, credentials: Credentials): Record<string, string> => ({
  'X-Hub-Signature-256': `sha256=${createHmac('sha256', credentials['appSecret'] ?? '')
    .update(rawBody)
    .digest('hex')}`,
});

const PAGES = ['106512345678901', '106598765432109'];

interface MetaItem {
  sender?: { id?: string };
  recipient?: { id?: string };
  message?: { is_echo?: boolean };
}

/**
 * The body with every entry and item naming `accountId` as its Page or account (the sender of echoes, the
 * recipient of the rest); undefined when it names none: the App Dashboard's samples (entry `"0"`) name no
 * real account.
 */
export const namingMetaAccount = (json: unknown, accountId: string): unknown => {
  let named = false;
  for (const entry of (json as { entry?: { id?: string; messaging?: MetaItem[]; standby?: MetaItem[] }[] }).entry ?? []) {
    if (entry.id === '0') continue;
    entry.id = accountId;
    for (const item of [...(entry.messaging ?? []), ...(entry.standby ?? [])]) {
      const business = item.message?.is_echo === true ? item.sender : item.recipient;
      if (business === undefined) continue;
      business.id = accountId;
      named = true;
    }
  }
  return named ? json : undefined;
};

/** `n` text messages spread over two Pages' entries, three items per entry. */
export const messengerBatch = (n: number): Buffer => {
  const entry: object[] = [];
  for (let i = 0; i < n; i += 3) {
    const page = PAGES[(i / 3) % 2]!;
    const messaging = [];
    for (let j = i; j < Math.min(n, i + 3); j++) {
      messaging.push({
        sender: { id: `71234567890${String(j).padStart(5, '0')}` },
        recipient: { id: page },
        timestamp: 1773448200000 + j * 1000,
        message: { mid: `m_batch_${j}`, text: `Message ${j + 1}` },
      });
    }
    entry.push({ id: page, time: 1773448300000, messaging });
  }
  return Buffer.from(JSON.stringify({ object: 'page', entry }), 'utf8');
};

export const kit: ConformanceKit = {
  connector: messengerConnector,
  credentials: MESSENGER_TEST_CREDENTIALS,
  fixturesDir: new URL('../../fixtures/messenger/', import.meta.url),
  sign: signMeta,
  handshake: {
    valid: {
      method: 'GET',
      headers: {},
      query: { 'hub.mode': 'subscribe', 'hub.verify_token': MESSENGER_TEST_CREDENTIALS['verifyToken'], 'hub.challenge': '1158201444' },
    },
    expectedBody: '1158201444',
  },
  batch: messengerBatch,
  // Another Page of the same app: the same app secret and verify token, its own id and token.
  sameAppAccount: (accountId) => ({
    ...MESSENGER_TEST_CREDENTIALS,
    pageAccessToken: 'EAAtestSecondPageToken0123456789',
    pageId: accountId,
  }),
  otherAccount: {
    accountId: '106500000000099',
    credentials: {
      appSecret: 'other-messenger-app-secret-9876543210fedcba',
      verifyToken: 'other-messenger-verify-token',
      pageAccessToken: 'EAAtestOtherAppPageToken0123456789',
      pageId: '106500000000099',
    },
    naming: namingMetaAccount,
  },
};

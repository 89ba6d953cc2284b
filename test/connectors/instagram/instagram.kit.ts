/** The Instagram connector's entry in the shared conformance suite. */
import type { Credentials } from '../../../connectors/connector.ts';
import { instagramConnector } from '../../../connectors/instagram/index.ts';
import type { ConformanceKit } from '../conformance.ts';
import { namingMetaAccount, signMeta } from '../messenger/messenger.kit.ts';

export const INSTAGRAM_TEST_CREDENTIALS: Credentials = {
  appSecret: 'test-instagram-app-secret-fedcba9876543210',
  verifyToken: 'test-instagram-verify-token',
  accessToken: 'IGAAtestInstagramUserToken0123456789',
  accountId: '17841400123456789',
};

const ACCOUNTS = ['17841400123456789', '17841400987654321'];

/** `n` text messages spread over two accounts' entries, three items per entry. */
export const instagramBatch = (n: number): Buffer => {
  const entry: object[] = [];
  for (let i = 0; i < n; i += 3) {
    const account = ACCOUNTS[(i / 3) % 2]!;
    const messaging = [];
    for (let j = i; j < Math.min(n, i + 3); j++) {
      messaging.push({
        sender: { id: `12345678901${String(j).padStart(5, '0')}` },
        recipient: { id: account },
        timestamp: 1773448200000 + j * 1000,
        message: { mid: `aWdfZAG1faXRlbTpiYXRjaF8${j}`, text: `Message ${j + 1}` },
      });
    }
    entry.push({ time: 1773448300000, id: account, messaging });
  }
  return Buffer.from(JSON.stringify({ object: 'instagram', entry }), 'utf8');
};

export const kit: ConformanceKit = {
  connector: instagramConnector,
  credentials: INSTAGRAM_TEST_CREDENTIALS,
  fixturesDir: new URL('../../fixtures/instagram/', import.meta.url),
  sign: signMeta,
  handshake: {
    valid: {
      method: 'GET',
      headers: {},
      query: { 'hub.mode': 'subscribe', 'hub.verify_token': INSTAGRAM_TEST_CREDENTIALS['verifyToken'], 'hub.challenge': '2264209655' },
    },
    expectedBody: '2264209655',
  },
  batch: instagramBatch,
  // Another professional account of the same Instagram app: the same app secret, its own id and token.
  sameAppAccount: (accountId) => ({ ...INSTAGRAM_TEST_CREDENTIALS, accessToken: 'IGAAtestSecondAccountToken0123456789', accountId }),
  otherAccount: {
    accountId: '17841400000000099',
    credentials: {
      appSecret: 'other-instagram-app-secret-0123456789abcdef',
      verifyToken: 'other-instagram-verify-token',
      accessToken: 'IGAAtestOtherAppToken0123456789',
      accountId: '17841400000000099',
    },
    naming: namingMetaAccount,
  },
};

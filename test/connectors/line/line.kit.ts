/**
 * LINE's kit for the shared conformance suite: an HMAC over the body (`x-line-signature`), batches of
 * events per request, no handshake (LINE's verification request is an ordinary signed POST with no events).
 */
import { lineConnector } from '../../../connectors/line/index.ts';
import { lineSignatureHeaders, LINE_TEST_CHANNEL_SECRET } from '../../helpers/line-webhook.ts';
import type { ConformanceKit } from '../conformance.ts';

const DESTINATION = 'U4af4980629c0a3b6b4f3c4d5e6f7a8b9';
const ACCESS_TOKEN = 'conformance/LINE+access-token=';
/** Another LINE channel: its own secret, its own bot. */
const OTHER_BOT = 'U0123456789abcdef0123456789abcdef';
const OTHER_CREDENTIALS = { channelSecret: '0f1e2d3c4b5a69788796a5b4c3d2e1f0', channelAccessToken: 'other/LINE+access-token=' };

/** LINE's bot info as it answers each channel's token (a wrong one: 401), and nothing else. */
const botInfo: typeof globalThis.fetch = async (input, init) => {
  const bots: Record<string, string> = { [ACCESS_TOKEN]: DESTINATION, [OTHER_CREDENTIALS.channelAccessToken]: OTHER_BOT };
  const token = new Headers(init?.headers).get('authorization')?.replace(/^Bearer /, '');
  const userId = new URL(String(input)).pathname === '/v2/bot/info' && token !== undefined ? bots[token] : undefined;
  if (userId === undefined)
    return Response.json(
      { message: 'Authentication failed. Confirm that the access token in the authorization header is valid.' },
      { status: 401 },
    );
  return Response.json({ userId, basicId: '@conformance', displayName: 'Conformance bot', chatMode: 'bot', markAsReadMode: 'auto' });
};

/** `n` text messages from `n` different users, as one webhook body. */
const batch = (n: number): Buffer =>
  Buffer.from(
    JSON.stringify({
      destination: DESTINATION,
      events: Array.from({ length: n }, (_, i) => {
        const suffix = i.toString(16).padStart(6, '0');
        return {
          type: 'message',
          message: { type: 'text', id: `5468140001${String(i).padStart(8, '0')}`, quoteToken: `q${suffix}`, text: `message ${i}` },
          replyToken: `r${suffix}`,
          webhookEventId: `01JPC0000000000000${String(i).padStart(8, '0')}`,
          deliveryContext: { isRedelivery: false },
          timestamp: 1773460000000 + i,
          source: { type: 'user', userId: `U00000000000000000000000000${suffix}` },
          mode: 'active',
        };
      }),
    }),
    'utf8',
  );

export const kit: ConformanceKit = {
  connector: lineConnector,
  credentials: { channelSecret: LINE_TEST_CHANNEL_SECRET, channelAccessToken: ACCESS_TOKEN },
  fixturesDir: new URL('../../fixtures/line/', import.meta.url),
  sign: (rawBody, credentials) => lineSignatureHeaders(rawBody, credentials['channelSecret'] ?? ''),
  signsBody: true,
  batch,
  // The bot the access token belongs to, which every fixture's `destination` names.
  context: { accountId: DESTINATION, receivedAt: '2026-03-14T03:00:00.000Z' },
  malformedStatus: 400,
  providerApi: botInfo,
  otherAccount: {
    accountId: OTHER_BOT,
    credentials: OTHER_CREDENTIALS,
    naming: (json, accountId) => {
      const body = json as { destination?: string };
      if (body.destination === undefined) return undefined;
      body.destination = accountId;
      return json;
    },
  },
};

/**
 * LINE's kit for the shared conformance suite: an HMAC over the body (`x-line-signature`), batches of
 * events per request, no handshake (LINE's verification request is an ordinary signed POST with no events).
 */
import { lineConnector } from '../../../connectors/line/index.ts';
import { DEFAULT_ACCOUNT } from '../../../domain/ingest.ts';
import { lineSignatureHeaders, LINE_TEST_CHANNEL_SECRET } from '../../helpers/line-webhook.ts';
import type { ConformanceKit } from '../conformance.ts';

const DESTINATION = 'U4af4980629c0a3b6b4f3c4d5e6f7a8b9';

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
  credentials: { channelSecret: LINE_TEST_CHANNEL_SECRET, channelAccessToken: 'conformance/LINE+access-token=' },
  fixturesDir: new URL('../../fixtures/line/', import.meta.url),
  sign: (rawBody, credentials) => lineSignatureHeaders(rawBody, credentials['channelSecret'] ?? ''),
  signsBody: true,
  batch,
  // The expected files were written for the default account; their events name the body's destination.
  context: { accountId: DEFAULT_ACCOUNT, receivedAt: '2026-03-14T03:00:00.000Z' },
  malformedStatus: 400,
};

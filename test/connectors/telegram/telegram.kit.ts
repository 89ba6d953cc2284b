/**
 * Telegram's kit for the shared conformance suite: a secret header rather than a body signature, one
 * update per request (no batch), no handshake.
 */
import { telegramConnector } from '../../../connectors/telegram/index.ts';
import { TELEGRAM_SECRET_HEADER } from '../../../connectors/telegram/telegram.verify.ts';
import type { ConformanceKit } from '../conformance.ts';

export const kit: ConformanceKit = {
  connector: telegramConnector,
  // Shaped like real ones: a secret_token of [A-Za-z0-9_-]; a token `<bot id>:<secret>` naming bot 7712345678.
  credentials: {
    webhookSecret: 'conformance-Secret_0123456789abcdef',
    botToken: '7712345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw',
  },
  fixturesDir: new URL('../../fixtures/telegram/', import.meta.url),
  sign: (_rawBody, credentials) => ({ [TELEGRAM_SECRET_HEADER]: credentials['webhookSecret'] ?? '' }),
  // Telegram sends the secret itself in a header: nothing covers the body.
  signsBody: false,
  context: { accountId: '7712345678', receivedAt: '2026-03-14T01:00:00.000Z' },
  // Not JSON at all: Telegram's own retries of a 400 cannot make it readable, but it is not an update either.
  malformedBody: Buffer.from('update_id=1&message=hello', 'utf8'),
  malformedStatus: 400,
};

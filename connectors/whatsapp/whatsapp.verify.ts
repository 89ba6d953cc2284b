/**
 * Inbound checks: Meta's GET handshake with the verify token, and `X-Hub-Signature-256` over the raw body
 * with the app secret (shared with Messenger and Instagram in connectors/meta).
 * @see https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/create-webhook-endpoint
 */
import type { Credentials, WebhookAnswer, WebhookRequest } from '../connector.ts';
import { metaHandshake, verifyMetaSignature } from '../meta/meta.verify.ts';

/** True when the body is signed with the app secret. Never throws; no secret configured means refused. */
export const verifyWhatsAppWebhook = (request: WebhookRequest, credentials: Credentials): boolean => {
  try {
    return verifyMetaSignature(request, credentials['appSecret']);
  } catch {
    return false;
  }
};

/** Only a GET can be the handshake; it is the one unsigned request Meta sends, and never an event. */
export const whatsAppHandshake = (request: WebhookRequest, credentials: Credentials): WebhookAnswer | undefined =>
  request.method.toUpperCase() === 'GET' ? metaHandshake(request, credentials['verifyToken']) : undefined;

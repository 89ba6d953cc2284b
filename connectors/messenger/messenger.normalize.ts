/**
 * Messenger notification → Parley events; the rules (echoes, watermarks, standby, sticker duplicates) are
 * described on the shared normalizer.
 * @see https://developers.facebook.com/docs/messenger-platform/reference/webhook-events
 */
import type { NormalizeContext, NormalizeResult } from '../connector.ts';
import { normalizeMetaMessaging } from '../meta/meta.messaging.normalize.ts';
import type { MessengerWebhook } from './messenger.schema.ts';

export const normalizeMessengerWebhook = (payload: MessengerWebhook, context: NormalizeContext): NormalizeResult =>
  normalizeMetaMessaging('messenger', payload, context);

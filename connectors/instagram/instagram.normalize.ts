/**
 * Instagram notification → Parley events; the rules (echoes, `messaging_seen`, unsends, story mentions and
 * replies, post shares) are described on the shared normalizer.
 * @see https://developers.facebook.com/docs/instagram-platform/webhooks/examples
 */
import type { NormalizeContext, NormalizeResult } from '../connector.ts';
import { normalizeMetaMessaging } from '../meta/meta.messaging.normalize.ts';
import type { InstagramWebhook } from './instagram.schema.ts';

export const normalizeInstagramWebhook = (payload: InstagramWebhook, context: NormalizeContext): NormalizeResult =>
  normalizeMetaMessaging('instagram', payload, context);

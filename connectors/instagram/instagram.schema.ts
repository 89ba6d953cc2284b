/**
 * Instagram webhook bodies (Instagram API with Instagram Login, webhook object `instagram`):
 * `{"object": "instagram", "entry": [{id, time, messaging | standby}]}`. The shapes are shared with Messenger
 * and live in `../meta/meta.messaging.schema.ts`; Instagram has no machine-readable definition, they follow
 * the webhook examples page.
 * @see https://developers.facebook.com/docs/instagram-platform/webhooks/examples
 */
import type { ParseResult } from '../connector.ts';
import { parseMetaMessaging, type MetaMessagingPayload } from '../meta/meta.messaging.schema.ts';

export type InstagramWebhook = MetaMessagingPayload;

export const INSTAGRAM_OBJECT = 'instagram';

export const parseInstagramWebhook = (rawBody: Buffer): ParseResult<InstagramWebhook> => parseMetaMessaging(rawBody, INSTAGRAM_OBJECT);

/**
 * Messenger webhook bodies: `{"object": "page", "entry": [{id, time, messaging | standby}]}`. The shapes are
 * shared with Instagram and live in `../meta/meta.messaging.schema.ts`; Messenger has no machine-readable
 * definition, they follow the webhook reference pages.
 * @see https://developers.facebook.com/docs/messenger-platform/reference/webhook-events
 */
import type { ParseResult } from '../connector.ts';
import { parseMetaMessaging, type MetaMessagingPayload } from '../meta/meta.messaging.schema.ts';

export type MessengerWebhook = MetaMessagingPayload;

/** The `object` of every Messenger notification: the app is subscribed to a Page. */
export const MESSENGER_OBJECT = 'page';

export const parseMessengerWebhook = (rawBody: Buffer): ParseResult<MessengerWebhook> => parseMetaMessaging(rawBody, MESSENGER_OBJECT);

/** The instagram webhook Lambda: the shared webhook function, bound to the instagram connector's inbound part alone. */
import { INSTAGRAM_INBOUND } from '../../connectors/instagram/instagram.inbound.ts';
import { webhookFunction } from '../webhook.ts';

export const { create, handler } = webhookFunction(INSTAGRAM_INBOUND);

/** The kakaotalk webhook Lambda: the shared webhook function, bound to the kakaotalk connector's inbound part alone. */
import { KAKAOTALK_INBOUND } from '../../connectors/kakaotalk/kakaotalk.inbound.ts';
import { webhookFunction } from '../webhook.ts';

export const { create, handler } = webhookFunction(KAKAOTALK_INBOUND);

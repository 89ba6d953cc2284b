/** The whatsapp webhook Lambda: the shared webhook function, bound to the whatsapp connector's inbound part alone. */
import { WHATSAPP_INBOUND } from '../../connectors/whatsapp/whatsapp.inbound.ts';
import { webhookFunction } from '../webhook.ts';

export const { create, handler } = webhookFunction(WHATSAPP_INBOUND);

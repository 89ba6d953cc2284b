/** The whatsapp webhook Lambda: the shared webhook function, bound to the whatsapp connector alone. */
import { whatsappConnector } from '../../connectors/whatsapp/index.ts';
import { webhookFunction } from '../webhook.ts';

export const { create, handler } = webhookFunction(whatsappConnector);

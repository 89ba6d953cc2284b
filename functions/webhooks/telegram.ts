/** The telegram webhook Lambda: the shared webhook function, bound to the telegram connector's inbound part alone. */
import { TELEGRAM_INBOUND } from '../../connectors/telegram/telegram.inbound.ts';
import { webhookFunction } from '../webhook.ts';

export const { create, handler } = webhookFunction(TELEGRAM_INBOUND);

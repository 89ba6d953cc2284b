/** The telegram webhook Lambda: the shared webhook function, bound to the telegram connector alone. */
import { telegramConnector } from '../../connectors/telegram/index.ts';
import { webhookFunction } from '../webhook.ts';

export const { create, handler } = webhookFunction(telegramConnector);

/** The messenger webhook Lambda: the shared webhook function, bound to the messenger connector alone. */
import { messengerConnector } from '../../connectors/messenger/index.ts';
import { webhookFunction } from '../webhook.ts';

export const { create, handler } = webhookFunction(messengerConnector);

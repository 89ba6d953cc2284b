/** The messenger webhook Lambda: the shared webhook function, bound to the messenger connector's inbound part alone. */
import { MESSENGER_INBOUND } from '../../connectors/messenger/messenger.inbound.ts';
import { webhookFunction } from '../webhook.ts';

export const { create, handler } = webhookFunction(MESSENGER_INBOUND);

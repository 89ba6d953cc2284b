/** The instagram webhook Lambda: the shared webhook function, bound to the instagram connector alone. */
import { instagramConnector } from '../../connectors/instagram/index.ts';
import { webhookFunction } from '../webhook.ts';

export const { create, handler } = webhookFunction(instagramConnector);

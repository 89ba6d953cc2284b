/** The kakaotalk webhook Lambda: the shared webhook function, bound to the kakaotalk connector alone. */
import { kakaotalkConnector } from '../../connectors/kakaotalk/index.ts';
import { webhookFunction } from '../webhook.ts';

export const { create, handler } = webhookFunction(kakaotalkConnector);

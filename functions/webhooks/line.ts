/** The line webhook Lambda: the shared webhook function, bound to the line connector alone. */
import { lineConnector } from '../../connectors/line/index.ts';
import { webhookFunction } from '../webhook.ts';

export const { create, handler } = webhookFunction(lineConnector);

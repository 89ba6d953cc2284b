/** The line webhook Lambda: the shared webhook function, bound to the line connector's inbound part alone. */
import { LINE_INBOUND } from '../../connectors/line/line.inbound.ts';
import { webhookFunction } from '../webhook.ts';

export const { create, handler } = webhookFunction(LINE_INBOUND);

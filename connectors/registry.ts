/**
 * Every channel connector, keyed by channel. The rest of Parley finds a connector here and never names a
 * channel itself; adding a channel is adding its entry.
 */
import type { Channel } from '../domain/content.ts';
import type { Connector } from './connector.ts';
import { instagramConnector } from './instagram/index.ts';
import { kakaotalkConnector } from './kakaotalk/index.ts';
import { lineConnector } from './line/index.ts';
import { messengerConnector } from './messenger/index.ts';
import { telegramConnector } from './telegram/index.ts';
import { whatsappConnector } from './whatsapp/index.ts';

export const connectors = {
  whatsapp: whatsappConnector,
  messenger: messengerConnector,
  instagram: instagramConnector,
  line: lineConnector,
  kakaotalk: kakaotalkConnector,
  telegram: telegramConnector,
} as const satisfies { readonly [C in Channel]?: Connector };

/** The channels that have a connector. */
export type ConnectorChannel = keyof typeof connectors;

/** True when `channel` names a channel that has a connector (and not, say, `toString`). */
export const hasConnector = (channel: string): channel is ConnectorChannel => Object.hasOwn(connectors, channel);

/** The connector of a channel, or undefined for a channel Parley has no connector for. */
export const getConnector = (channel: string): Connector | undefined => (hasConnector(channel) ? connectors[channel] : undefined);

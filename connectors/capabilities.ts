/**
 * What each channel can carry outbound, without the rest of its connector: the integrator API checks
 * content against these, and a function that only needs them does not bundle parsers and senders.
 */
import type { ChannelCapabilities } from '../domain/connector.ts';
import type { Channel } from '../domain/content.ts';
import { TELEGRAM_CAPABILITIES } from './telegram/telegram.capabilities.ts';

const CAPABILITIES: { readonly [C in Channel]?: ChannelCapabilities } = { telegram: TELEGRAM_CAPABILITIES };

export const capabilitiesOf = (channel: string): ChannelCapabilities | undefined =>
  Object.hasOwn(CAPABILITIES, channel) ? CAPABILITIES[channel as Channel] : undefined;

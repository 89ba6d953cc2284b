/**
 * What each channel can carry outbound, without the rest of its connector: the integrator API checks
 * content against these, and a function that only needs them does not bundle parsers and senders.
 */
import type { ChannelCapabilities } from '../domain/connector.ts';
import type { Channel } from '../domain/content.ts';
import { INSTAGRAM_CAPABILITIES } from './instagram/instagram.capabilities.ts';
import { KAKAOTALK_CAPABILITIES } from './kakaotalk/kakaotalk.capabilities.ts';
import { LINE_CAPABILITIES } from './line/line.capabilities.ts';
import { MESSENGER_CAPABILITIES } from './messenger/messenger.capabilities.ts';
import { TELEGRAM_CAPABILITIES } from './telegram/telegram.capabilities.ts';
import { WHATSAPP_CAPABILITIES } from './whatsapp/whatsapp.capabilities.ts';

const CAPABILITIES: { readonly [C in Channel]: ChannelCapabilities } = {
  whatsapp: WHATSAPP_CAPABILITIES,
  messenger: MESSENGER_CAPABILITIES,
  instagram: INSTAGRAM_CAPABILITIES,
  line: LINE_CAPABILITIES,
  kakaotalk: KAKAOTALK_CAPABILITIES,
  telegram: TELEGRAM_CAPABILITIES,
};

export const capabilitiesOf = (channel: string): ChannelCapabilities | undefined =>
  Object.hasOwn(CAPABILITIES, channel) ? CAPABILITIES[channel as Channel] : undefined;

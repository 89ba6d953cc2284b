/**
 * What each channel can carry outbound and what its accounts need, without the rest of its connector: the
 * integrator API checks content and credentials against these, and a function that only needs them does
 * not bundle parsers and senders.
 */
import type { ChannelAccount, ChannelCapabilities } from '../domain/connector.ts';
import type { Channel } from '../domain/content.ts';
import { INSTAGRAM_ACCOUNT } from './instagram/instagram.account.ts';
import { INSTAGRAM_CAPABILITIES } from './instagram/instagram.capabilities.ts';
import { KAKAOTALK_ACCOUNT } from './kakaotalk/kakaotalk.account.ts';
import { LINE_ACCOUNT } from './line/line.account.ts';
import { MESSENGER_ACCOUNT } from './messenger/messenger.account.ts';
import { TELEGRAM_ACCOUNT } from './telegram/telegram.account.ts';
import { WHATSAPP_ACCOUNT } from './whatsapp/whatsapp.account.ts';
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

const ACCOUNTS: { readonly [C in Channel]: ChannelAccount } = {
  whatsapp: WHATSAPP_ACCOUNT,
  messenger: MESSENGER_ACCOUNT,
  instagram: INSTAGRAM_ACCOUNT,
  line: LINE_ACCOUNT,
  kakaotalk: KAKAOTALK_ACCOUNT,
  telegram: TELEGRAM_ACCOUNT,
};

export const accountOf = (channel: string): ChannelAccount | undefined =>
  Object.hasOwn(ACCOUNTS, channel) ? ACCOUNTS[channel as Channel] : undefined;

/**
 * Sample conversations for `npm run demo`, one per channel, written as the provider's own webhook
 * requests, and the single customer messages `npm run webhook` posts. Each lives beside its connector;
 * this file lists them.
 */
import type { Channel } from '../domain/content.ts';
import type { ChannelDemo } from './demo-types.ts';
import { instagramDemo } from './instagram/instagram.demo.ts';
import { kakaotalkDemo } from './kakaotalk/kakaotalk.demo.ts';
import { lineDemo } from './line/line.demo.ts';
import { messengerDemo } from './messenger/messenger.demo.ts';
import { telegramDemo } from './telegram/telegram.demo.ts';
import { whatsappDemo } from './whatsapp/whatsapp.demo.ts';

export type { ChannelDemo, DemoRequest } from './demo-types.ts';

export const demos: Record<Channel, ChannelDemo> = {
  whatsapp: whatsappDemo,
  messenger: messengerDemo,
  instagram: instagramDemo,
  line: lineDemo,
  kakaotalk: kakaotalkDemo,
  telegram: telegramDemo,
};

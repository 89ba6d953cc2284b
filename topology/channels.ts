/** The channels this build serves, apart from the rest of the topology so a handler need not bundle it. */
import type { Channel } from '../domain/content.ts';

/** Channels whose connector is built and deployed. */
export const ENABLED_CHANNELS = [
  'whatsapp',
  'messenger',
  'instagram',
  'line',
  'kakaotalk',
  'telegram',
] as const satisfies readonly Channel[];
export type EnabledChannel = (typeof ENABLED_CHANNELS)[number];

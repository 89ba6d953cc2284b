/**
 * Messaging windows: when a business may write to a customer, and with what. Each channel declares its rules
 * in its capabilities (`messagingWindowHours`, `afterWindow`, `proactive`); this decides, from the thread's
 * route on that channel (when the customer last wrote, the window's end, a reply handle), whether a message may
 * be queued, so the API refuses it with a reason and an alternative instead of the provider refusing it later.
 *
 * - Inside the window anything the channel carries goes.
 * - After it: an approved template where the channel has them (WhatsApp), or a message tag it accepts, some only
 *   within hours of the customer's last message and for entitled accounts (`human_agent`: 7 days). Tags are
 *   for non-promotional messages only, so a marketing message cannot use one.
 * - Channels without a window: free (Telegram), against a monthly quota (LINE push, counted), or only through an
 *   API of their own (KakaoTalk's Event API) once the customer's reply handle expired.
 * @see https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates
 * @see https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags
 * @see https://kakaobusiness.gitbook.io/main/tool/chatbot/main_notions/event-api
 */
import type { ChannelCapabilities } from '../connector.ts';
import type { Channel } from '../content.ts';
import type { ChannelRoute } from '../conversations/model.ts';
import type { MessageTag, Purpose } from '../model.ts';
import { millis } from '../shared/time.ts';

/** How a message that may go reaches the customer. */
export type WindowVia =
  /** The customer wrote recently enough. */
  | 'window'
  /** The channel has no window. */
  | 'no_window'
  /** An approved template, after the window. */
  | 'template'
  /** A message tag, after the window. */
  | 'tag'
  /** The customer's one-time reply handle (a Kakao callback, a LINE reply token) is still valid. */
  | 'reply_handle'
  /** A push that counts against the account's monthly quota (LINE). */
  | 'quota'
  /** The channel's API for writing first (Kakao's Event API). */
  | 'credential';

export type WindowVerdict =
  | { readonly kind: 'allowed'; readonly via: WindowVia }
  | {
      readonly kind: 'refused';
      readonly code: 'outside_messaging_window';
      readonly reason: string;
      /** What would be accepted instead, in the API's words. */
      readonly allowedInstead: readonly string[];
      readonly windowExpiresAt?: string;
    };

export interface WindowQuestion {
  readonly channel: Channel;
  readonly capabilities: Pick<ChannelCapabilities, 'messagingWindowHours' | 'afterWindow' | 'proactive'>;
  /** The thread's route on this channel and account; absent when the customer never wrote there. */
  readonly route?: ChannelRoute | undefined;
  readonly contentType: string;
  readonly messageTag?: MessageTag | undefined;
  /** A notification's purpose; absent for an agent's reply. */
  readonly purpose?: Purpose | undefined;
  readonly now: Date;
  /**
   * The account's own settings (its credentials): whether it is entitled to a tag (`humanAgent: 'true'`/`'false'`) and has
   * the credential writing first needs. Undefined when they cannot be read here: then the provider decides.
   */
  readonly settings?: Readonly<Record<string, string>> | undefined;
}

/** When the window after the customer's last message on this route closes; undefined when the channel has none. */
export const windowEnd = (route: ChannelRoute | undefined, windowHours: number | undefined): number | undefined => {
  if (windowHours === undefined) return undefined;
  if (!route) return Number.NEGATIVE_INFINITY;
  // Routes written before windows were recorded have only the customer's last message.
  return route.windowExpiresAt !== undefined ? millis(route.windowExpiresAt) : millis(route.lastInboundAt) + windowHours * 3_600_000;
};

const hours = (h: number): string => (h % 24 === 0 ? `${h / 24} days` : `${h} hours`);

const replyHandleValid = (route: ChannelRoute | undefined, now: Date): boolean =>
  route?.replyHandle !== undefined && millis(route.replyHandle.expiresAt) > now.getTime();

/** Whether a message may be queued now, and if not, why and what could go instead. */
export const windowVerdict = (question: WindowQuestion): WindowVerdict => {
  const { capabilities, route, now, channel } = question;
  const end = windowEnd(route, capabilities.messagingWindowHours);
  if (end === undefined) return withoutWindow(question);
  if (now.getTime() < end) return { kind: 'allowed', via: 'window' };

  const after = capabilities.afterWindow ?? { templates: false, tags: [] };
  const closed =
    route === undefined
      ? `the customer has never written on ${channel}`
      : `${channel}'s ${capabilities.messagingWindowHours}-hour window after the customer's last message closed at ${new Date(end).toISOString()}`;
  const instead: string[] = [];
  if (after.templates) instead.push('an approved template (content type `template`)');
  for (const tag of after.tags) {
    const since = route ? millis(route.lastInboundAt) : undefined;
    const inTime = tag.withinHours === undefined || (since !== undefined && now.getTime() < since + tag.withinHours * 3_600_000);
    if (inTime && question.purpose !== 'marketing')
      instead.push(
        `\`messageTag: ${tag.tag}\`${tag.withinHours === undefined ? '' : ` (within ${hours(tag.withinHours)} of the customer's last message)`}`,
      );
  }
  const refuse = (reason: string): WindowVerdict => ({
    kind: 'refused',
    code: 'outside_messaging_window',
    reason,
    allowedInstead: instead,
    ...(Number.isFinite(end) && { windowExpiresAt: new Date(end).toISOString() }),
  });

  if (question.contentType === 'template') {
    if (after.templates) return { kind: 'allowed', via: 'template' };
    return refuse(`${closed}, and ${channel} has no templates`);
  }
  if (question.messageTag !== undefined) {
    const tag = after.tags.find((t) => t.tag === question.messageTag);
    if (!tag) return refuse(`${closed}; ${channel} does not accept the message tag ${question.messageTag} outside it`);
    if (question.purpose === 'marketing') return refuse(`${closed}; message tags may not carry promotional (marketing) messages`);
    if (tag.withinHours !== undefined) {
      const since = route ? millis(route.lastInboundAt) : undefined;
      if (since === undefined || now.getTime() >= since + tag.withinHours * 3_600_000) {
        return refuse(
          `${closed}; the ${question.messageTag} tag may be used only within ${hours(tag.withinHours)} of the customer's last message`,
        );
      }
    }
    // An account says whether it is entitled (`humanAgent: 'true'` or `'false'`); one that does not say is left
    // to the provider, which refuses the tag where the permission is missing.
    if (tag.entitlement !== undefined && question.settings?.[tag.entitlement] === 'false') {
      return refuse(
        `${closed}; this ${channel} account is not entitled to the ${question.messageTag} tag (its \`${tag.entitlement}\` setting is \`false\`; set it to \`true\` once Meta granted the permission)`,
      );
    }
    return { kind: 'allowed', via: 'tag' };
  }
  return refuse(closed);
};

const withoutWindow = (question: WindowQuestion): WindowVerdict => {
  const proactive = question.capabilities.proactive ?? { kind: 'free' };
  if (replyHandleValid(question.route, question.now)) return { kind: 'allowed', via: 'reply_handle' };
  switch (proactive.kind) {
    case 'free':
      return { kind: 'allowed', via: 'no_window' };
    case 'quota':
      return { kind: 'allowed', via: 'quota' };
    case 'credential': {
      if (question.settings === undefined || (question.settings[proactive.credential] ?? '') !== '')
        return { kind: 'allowed', via: 'credential' };
      return {
        kind: 'refused',
        code: 'outside_messaging_window',
        reason: `${question.channel} reaches a customer who is not waiting for an answer only through its API for writing first, and this account has no \`${proactive.credential}\``,
        allowedInstead: [
          `configure the account's \`${proactive.credential}\``,
          'answer while the customer waits (within a minute of their message)',
        ],
      };
    }
  }
};

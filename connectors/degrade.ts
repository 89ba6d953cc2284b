/**
 * Outbound content a channel cannot show natively, rewritten into what it can show, dropping nothing the
 * agent sent: link buttons are written out in the text, postback buttons are offered as quick replies (which
 * each sender renders natively or as a numbered list), and a list becomes quick replies or a numbered text.
 * Channel-neutral; every sender uses it.
 */
import type { ChannelCapabilities } from '../domain/connector.ts';
import type { Button, OutboundContent, QuickReply } from '../domain/content.ts';
import { shorten, splitText, utf16Length } from './text.ts';

export type ListContent = Extract<OutboundContent, { type: 'list' }>;

/**
 * Buttons shown without native buttons: each link as a `Label: https://…` line below the text, the
 * postbacks as quick replies (undefined when there are none).
 */
export const buttonsAsQuickReplies = (
  text: string,
  buttons: readonly Button[],
): { readonly text: string; readonly quickReplies: QuickReply[] | undefined } => {
  const links = buttons.flatMap((button) => (button.type === 'url' ? [`${button.text}: ${button.url}`] : []));
  const postbacks = buttons.flatMap((button) => (button.type === 'postback' ? [{ text: button.text, payload: button.payload }] : []));
  return {
    text: links.length > 0 ? `${text}\n\n${links.join('\n')}` : text,
    quickReplies: postbacks.length > 0 ? postbacks : undefined,
  };
};

/** Every item of a list, in order across its sections. */
export const listItemsOf = (list: ListContent) => list.sections.flatMap((section) => section.items);

/**
 * A list's items as quick replies, only when that loses nothing: no item has a description, no section a
 * title, and every title fits a quick reply's label. Undefined otherwise.
 */
export const listAsQuickReplies = (list: ListContent, maxLabelLength: number): QuickReply[] | undefined => {
  const items = listItemsOf(list);
  const lossless =
    list.sections.every((section) => section.title === undefined) &&
    items.every((item) => item.description === undefined && item.title.length <= maxLabelLength);
  return lossless ? items.map((item) => ({ text: item.title, payload: item.payload })) : undefined;
};

/**
 * A list as quick replies the customer taps, so the choice comes back with its payload: the items' titles
 * when they say everything; otherwise the whole list as a numbered text (headings, descriptions) with a quick
 * reply per number. The caller checks the quick replies fit its channel, else sends {@link listAsText} alone.
 */
export const listAsChoices = (
  list: ListContent,
  maxLabelLength: number,
): { readonly text: string; readonly quickReplies: QuickReply[] } => {
  const lossless = listAsQuickReplies(list, maxLabelLength);
  if (lossless) return { text: list.text, quickReplies: lossless };
  return {
    text: listAsText(list),
    quickReplies: listItemsOf(list).map((item, index) => ({
      text: shorten(`${index + 1}. ${item.title}`, maxLabelLength),
      payload: item.payload,
    })),
  };
};

/**
 * A list as a numbered text the customer answers by typing: section titles as headings, each item's
 * description after its title. Numbers run on across sections, so each names one item.
 */
export const listAsText = (list: ListContent): string => {
  let number = 0;
  const blocks = list.sections.map((section) => {
    const lines = section.items.map((item) => {
      number += 1;
      return `${number}. ${item.title}${item.description === undefined ? '' : ` – ${item.description}`}`;
    });
    return [...(section.title === undefined ? [] : [section.title]), ...lines].join('\n');
  });
  return `${list.text}\n\n${blocks.join('\n\n')}`;
};

/**
 * Splits a text whose last part goes into a shorter field (an interactive message's body, a button
 * template's text): the parts before it are plain messages of at most `max`, the last one fits `lastMax`.
 */
export const splitBeforeLast = (
  text: string,
  max: number,
  lastMax: number,
  measure: (text: string) => number = utf16Length,
): { readonly before: string[]; readonly last: string } => {
  const parts = splitText(text, max, measure);
  const tail = splitText(parts.pop() ?? text, lastMax, measure);
  const last = tail.pop() ?? text;
  return { before: [...parts, ...tail], last };
};

/**
 * True when every button fits the channel's native buttons whole: not more than it shows, no label to
 * shorten, links only where it has link buttons, and every postback payload one it carries (`fitsPayload`:
 * the provider's own rule, in its own unit).
 */
export const fitsButtons = (
  buttons: readonly Button[],
  limits: ChannelCapabilities['buttons'],
  fitsPayload: (payload: string) => boolean,
): boolean =>
  buttons.length <= limits.max &&
  buttons.every(
    (button) => button.text.length <= limits.maxLabelLength && (button.type === 'url' ? limits.url : fitsPayload(button.payload)),
  );

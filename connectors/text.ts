/**
 * Text helpers every connector's sender shares: splitting a long text into provider-sized messages and
 * shortening labels, both without cutting a character a customer would see as one.
 */

/** Length in UTF-16 code units, as JavaScript and most providers (Telegram, Messenger, LINE) count it. */
export const utf16Length = (text: string): number => text.length;

/** Length in UTF-8 bytes, for providers that count bytes (Instagram text, Meta quick reply payloads). */
export const utf8Length = (text: string): number => Buffer.byteLength(text, 'utf8');

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;

/**
 * Splits a text into parts that each measure at most `max`: at the last line break in the second half of
 * the part, else at the last whitespace there (the break itself is dropped), else at the last grapheme
 * boundary, so no emoji, flag or accent is cut in two. A single grapheme longer than `max` is cut between
 * code points, never inside a surrogate pair.
 */
export const splitText = (text: string, max: number, measure: (text: string) => number = utf16Length): string[] => {
  const parts: string[] = [];
  let rest = text;
  while (measure(rest) > max) {
    // `end`: how many code units of whole graphemes fit.
    let end = 0;
    let size = 0;
    for (const { segment } of graphemes.segment(rest)) {
      const next = size + measure(segment);
      if (next > max) break;
      size = next;
      end += segment.length;
    }
    if (end === 0) {
      for (const point of rest) {
        const next = size + measure(point);
        if (next > max && end > 0) break;
        size = next;
        end += point.length;
      }
    }
    // A break right after the part that fits is dropped, so it counts too (index `end`).
    const minCut = Math.floor(end / 2);
    let cut = rest.lastIndexOf('\n', end);
    let next = cut + 1;
    if (cut < minCut || cut <= 0) {
      cut = -1;
      for (let i = end; i >= minCut && i > 0; i--) {
        if (/\s/.test(rest.charAt(i))) {
          cut = i;
          next = i + 1;
          break;
        }
      }
    }
    if (cut <= 0) {
      cut = end;
      next = end;
    }
    parts.push(rest.slice(0, cut));
    rest = rest.slice(next);
  }
  if (rest.length > 0 || parts.length === 0) parts.push(rest);
  return parts;
};

/** Where a tail may start, best first: after a line break, after the end of a sentence, after a space. */
const TAIL_STARTS = [/\n/g, /[.!?](?=\s)|[。！？]/g, /\s/g] as const;

/**
 * Splits off the end of a text for a field that holds only a short text under the rest of the message (a
 * LINE buttons template, a Kakao text card): `tail` is the longest end of the text of at most `max` UTF-16
 * code units that starts after a line break, else after the end of a sentence, else after a space, else at a
 * grapheme boundary. `head` is what comes before it (empty when the whole text fits), to be sent first as
 * plain text. Splitting from the end keeps the tail as full as the field allows, where splitting from the
 * front would leave whatever remains of the last part.
 */
export const splitTail = (text: string, max: number): { readonly head: string; readonly tail: string } => {
  if (utf16Length(text) <= max) return { head: '', tail: text };
  const earliest = text.length - max;
  const tailAt = (start: number): { head: string; tail: string } | undefined => {
    const tail = text.slice(start).trimStart();
    return tail === '' ? undefined : { head: text.slice(0, start).trimEnd(), tail };
  };
  for (const pattern of TAIL_STARTS) {
    // A break right before the earliest start also lets the tail start there.
    pattern.lastIndex = Math.max(earliest - 1, 0);
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      const split = tailAt(match.index + match[0].length);
      if (split !== undefined && split.tail.length <= max) return split;
    }
  }
  for (const { index } of graphemes.segment(text)) {
    if (index >= earliest) return tailAt(index) ?? { head: text.slice(0, index), tail: text.slice(index) };
  }
  // One grapheme longer than `max` ends the text: cut it between code points.
  const start = isHighSurrogate(text.charCodeAt(earliest - 1)) ? earliest + 1 : earliest;
  return { head: text.slice(0, start), tail: text.slice(start) };
};

/** Shortens a text to `max` UTF-16 code units with an ellipsis, never splitting a surrogate pair. */
export const shorten = (text: string, max: number): string => {
  if (text.length <= max) return text;
  let end = max - 1;
  if (isHighSurrogate(text.charCodeAt(end - 1))) end -= 1;
  return `${text.slice(0, end)}…`;
};

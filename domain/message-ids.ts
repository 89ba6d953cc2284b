/**
 * Message ids that sort chronologically: the thread store lists a thread's messages by id, so an id
 * starts with when the message happened, then when Parley learned of it (a tie-break within the
 * provider's one-second timestamps that keeps the order the provider delivered them in), then a hash of
 * what makes it unique.
 */
import { createHash } from 'node:crypto';

const TIME_WIDTH = 9; // base36 milliseconds: 36^9 ms reaches the year 5138

const time36 = (date: Date): string => Math.max(0, date.getTime()).toString(36).padStart(TIME_WIDTH, '0');

export const newMessageId = (occurredAt: Date, receivedAt: Date, ...parts: readonly string[]): string =>
  `msg_${time36(occurredAt)}${time36(receivedAt)}_${createHash('sha256').update(parts.join('\u001f')).digest('base64url').slice(0, 16)}`;

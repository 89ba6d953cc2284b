import { createHash, randomBytes } from 'node:crypto';

/**
 * A stable id derived from its parts: the same provider ids always give the same id, which is what
 * makes redelivered webhooks and retried writes land on the same records.
 */
export const deterministicId = (prefix: string, ...parts: readonly string[]): string =>
  `${prefix}_${createHash('sha256').update(parts.join('\u001f')).digest('base64url').slice(0, 22)}`;

/** A fresh random id, for records that have no provider id to derive one from. */
export const randomId = (prefix: string): string => `${prefix}_${randomBytes(16).toString('base64url')}`;

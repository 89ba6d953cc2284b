/**
 * Instants as the domain handles them: ISO 8601 strings in UTC on the wire and in records, compared as
 * epoch milliseconds (ISO strings of different precision do not sort: `…:00Z` sorts after `…:00.5Z`).
 */
import * as z from 'zod';

export const IsoInstantSchema = z.iso.datetime({ offset: false }).describe('ISO 8601 instant in UTC');

/** Epoch milliseconds of an ISO instant; throws on anything else, so a bad instant never compares as NaN. */
export const millis = (instant: string): number => {
  const ms = Date.parse(instant);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO 8601 instant: ${instant}`);
  return ms;
};

/** The later of two instants (the first when they are equal). */
export const later = (a: string, b: string): string => (millis(b) > millis(a) ? b : a);

export const addSeconds = (instant: string, seconds: number): string => new Date(millis(instant) + seconds * 1000).toISOString();

/**
 * Equality of items in AttributeValue JSON as DynamoDB judges it: maps and sets are unordered, numbers are
 * compared by value (`1.0` equals `1`). A write whose new item equals the old one changes nothing, and
 * DynamoDB Streams writes no record for it.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html
 */
import type { Item } from './dynalite.ts';

type AttributeValue = Record<string, unknown>;

const NUMBER = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** A number's canonical form (`-125e-2` for `-1.250`), so that equal values have equal strings. */
export const canonicalNumber = (value: string): string => {
  const match = NUMBER.exec(value.trim());
  if (!match) return value;
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = match;
  let digits = (whole + fraction).replace(/^0+/, '');
  if (digits === '') return '0';
  let power = Number(exponent) - fraction.length;
  const trailing = /0+$/.exec(digits);
  if (trailing) {
    digits = digits.slice(0, -trailing[0].length);
    power += trailing[0].length;
  }
  return `${sign === '-' ? '-' : ''}${digits}e${power}`;
};

const sameSet = (a: readonly string[], b: readonly string[], canonical: (v: string) => string = (v) => v): boolean => {
  if (a.length !== b.length) return false;
  const members = new Set(a.map(canonical));
  return b.every((member) => members.has(canonical(member)));
};

const sameValue = (a: AttributeValue, b: AttributeValue): boolean => {
  const type = Object.keys(a)[0];
  if (type === undefined || Object.keys(b)[0] !== type) return false;
  const left = a[type];
  const right = b[type];
  switch (type) {
    case 'N':
      return canonicalNumber(left as string) === canonicalNumber(right as string);
    case 'SS':
    case 'BS':
      return sameSet(left as string[], right as string[]);
    case 'NS':
      return sameSet(left as string[], right as string[], canonicalNumber);
    case 'L': {
      const l = left as AttributeValue[];
      const r = right as AttributeValue[];
      return l.length === r.length && l.every((value, i) => sameValue(value, r[i] as AttributeValue));
    }
    case 'M':
      return sameItem(left as Item, right as Item);
    default:
      // S, B (dynalite accepts only canonical base64), BOOL, NULL
      return left === right;
  }
};

/** Whether two items hold the same attributes with equal values. */
export const sameItem = (a: Item, b: Item): boolean => {
  const names = Object.keys(a);
  if (names.length !== Object.keys(b).length) return false;
  return names.every((name) => {
    const other = b[name];
    return other !== undefined && sameValue(a[name] as AttributeValue, other);
  });
};

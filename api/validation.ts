/**
 * Validation failures in the API's own words: which field, and what it must be. The validation library's
 * wording (`expected number, received NaN`) never reaches a caller.
 */
import type * as z from 'zod';

export interface Issue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

const article = (noun: string): string => (/^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`);

const nameOf = (path: readonly (string | number)[], what: string): string =>
  path.length === 0
    ? what
    : path
        .map((p) => (typeof p === 'number' ? `[${p}]` : p))
        .join('.')
        .replaceAll('.[', '[');

const expectedOf = (expected: string): string => {
  switch (expected) {
    case 'number':
      return 'a number';
    case 'int':
      return 'a whole number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'object':
      return 'an object';
    case 'array':
      return 'a list';
    default:
      return article(expected);
  }
};

/** One zod issue as a sentence about the field. */
export const describeIssue = (issue: z.core.$ZodIssue, what: string): Issue => {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  const field = nameOf(path, what);
  const message = ((): string => {
    switch (issue.code) {
      case 'invalid_type':
        // zod reports what it received only in its own message (issues carry no input unless asked).
        return /received undefined$/.test(issue.message) ? `${field} is required` : `${field} must be ${expectedOf(issue.expected)}`;
      case 'too_small':
        if (issue.origin === 'string') return `${field} must be at least ${String(issue.minimum)} character(s) long`;
        if (issue.origin === 'array' || issue.origin === 'set') return `${field} must have at least ${String(issue.minimum)} item(s)`;
        return `${field} must be at least ${String(issue.minimum)}`;
      case 'too_big':
        if (issue.origin === 'string') return `${field} must be at most ${String(issue.maximum)} character(s) long`;
        if (issue.origin === 'array' || issue.origin === 'set') return `${field} must have at most ${String(issue.maximum)} item(s)`;
        return `${field} must be at most ${String(issue.maximum)}`;
      case 'invalid_value':
        return `${field} must be one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      case 'unrecognized_keys':
        return `${nameOf(path, what)} has unknown field(s): ${issue.keys.join(', ')}`;
      case 'invalid_format':
        return issue.format === 'regex'
          ? `${field} ${issue.message.startsWith('Invalid') ? 'has the wrong format' : issue.message}`
          : `${field} must be a valid ${issue.format.replaceAll('_', ' ')}`;
      case 'invalid_union':
        return `${field} does not match any accepted shape`;
      case 'not_multiple_of':
        return `${field} must be a multiple of ${String(issue.divisor)}`;
      case 'invalid_key':
        return `${field} has an invalid key`;
      case 'invalid_element':
        return `${field} has an invalid element`;
      case 'custom':
        return `${field}: ${issue.message}`;
    }
  })();
  return { path, message };
};

/** Every issue of a failed parse, in the API's words. */
export const describeIssues = (error: z.ZodError, what: string): Issue[] => error.issues.map((issue) => describeIssue(issue, what));

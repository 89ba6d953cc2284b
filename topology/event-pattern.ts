/**
 * EventBridge pattern matching for the subset of the pattern language the topology uses: lists of exact
 * string values, `{ prefix }` and `{ exists }`, nested by field. Anything else is refused when the rule is loaded, so a
 * rule can never match differently here than in AWS.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
 */
import type { EventPattern } from './topology.ts';

type Matcher = (value: unknown) => boolean;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export const compilePattern = (pattern: EventPattern, path = ''): Matcher => {
  const fields = Object.entries(pattern).map(([key, rule]): Matcher => {
    const where = path ? `${path}.${key}` : key;
    if (!Array.isArray(rule)) {
      const nested = compilePattern(rule as EventPattern, where);
      return (event) => isRecord(event) && nested(event[key]);
    }
    const accepts = (rule as readonly unknown[]).map((option): Matcher => {
      if (typeof option === 'string') return (v) => v === option;
      if (isRecord(option) && Object.keys(option).length === 1 && typeof option.prefix === 'string') {
        const prefix = option.prefix;
        return (v) => typeof v === 'string' && v.startsWith(prefix);
      }
      if (isRecord(option) && Object.keys(option).length === 1 && typeof option.exists === 'boolean') {
        const exists = option.exists;
        return (v) => (v !== undefined) === exists;
      }
      throw new Error(`unsupported event pattern at ${where}: ${JSON.stringify(option)}`);
    });
    // A field matches when its value, or any element of an array value, matches any option.
    const absentOk = accepts.length > 0 && (rule as readonly unknown[]).some((o) => isRecord(o) && o.exists === false);
    return (event) => {
      if (!isRecord(event)) return absentOk;
      const value = event[key];
      const values = Array.isArray(value) ? value : [value];
      return values.some((v) => accepts.some((accept) => accept(v)));
    };
  });
  return (event) => fields.every((field) => field(event));
};

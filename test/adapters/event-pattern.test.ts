import { describe, expect, it } from 'vitest';
import { compilePattern } from '../../topology/event-pattern.ts';
import { RULES } from '../../topology/topology.ts';

const envelope = (detailType: string, source = 'parley.connectors') => ({
  version: '0',
  source,
  'detail-type': detailType,
  detail: { channel: 'telegram', tags: ['a', 'b'] },
});

describe('compilePattern', () => {
  it('matches exact values and prefixes, field by field, like EventBridge', () => {
    const match = compilePattern({ source: [{ prefix: 'parley.' }], 'detail-type': ['message.received', 'message.edited'] });
    expect(match(envelope('message.received'))).toBe(true);
    expect(match(envelope('message.edited', 'parley.other'))).toBe(true);
    expect(match(envelope('message.status'))).toBe(false);
    expect(match(envelope('message.received', 'aws.events'))).toBe(false);
  });

  it('matches nested fields and any element of an array value', () => {
    expect(compilePattern({ detail: { channel: ['telegram'] } })(envelope('x'))).toBe(true);
    expect(compilePattern({ detail: { channel: ['line'] } })(envelope('x'))).toBe(false);
    expect(compilePattern({ detail: { tags: ['b'] } })(envelope('x'))).toBe(true);
    expect(compilePattern({ detail: { missing: ['x'] } })(envelope('x'))).toBe(false);
  });

  it('refuses pattern operators it does not implement instead of matching differently from AWS', () => {
    expect(() => compilePattern({ source: [{ 'anything-but': 'x' } as never] })).toThrow(/unsupported event pattern at source/);
  });

  it('compiles every rule of the topology', () => {
    for (const rule of Object.values(RULES)) expect(() => compilePattern(rule.pattern)).not.toThrow();
  });
});

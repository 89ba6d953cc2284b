import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED } from '../scripts/generate-docs.ts';

describe('generated documents', () => {
  it.each(Object.keys(GENERATED))('%s is up to date (run `npm run docs`)', (file) => {
    const committed = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
    expect(committed).toBe(GENERATED[file as keyof typeof GENERATED]());
  });
});

describe('what a new user reads first', () => {
  const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');

  it('has the LICENSE package.json names: the Apache License 2.0', () => {
    expect(JSON.parse(read('package.json')).license).toBe('Apache-2.0');
    expect(read('LICENSE')).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
  });

  it('links the threat model from the README, and the threat model says what one provider secret or API key can do', () => {
    expect(read('README.md')).toContain('](docs/security.md)');
    const security = read('docs/security.md');
    expect(security).toMatch(/^## An attacker with one provider secret/m);
    expect(security).toMatch(/^## An attacker with one API key/m);
  });
});

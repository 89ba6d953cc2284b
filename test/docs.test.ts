import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED } from '../scripts/generate-docs.ts';

describe('generated documents', () => {
  it.each(Object.keys(GENERATED))('%s is up to date (run `npm run docs`)', (file) => {
    const committed = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
    expect(committed).toBe(GENERATED[file as keyof typeof GENERATED]());
  });
});

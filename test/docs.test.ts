import { readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newSecret, signedHeaders } from '../domain/integrations/webhooks.ts';
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

describe('the README', () => {
  it('shows a webhook receiver that verifies a real delivery, and refuses a forged one', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const snippet = /standardwebhooks` library of its language:\s*```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet).toContain("from 'standardwebhooks'");
    // The snippet as a handler: its import is the library itself, and `process`, `rawBody`, `req` are the receiver's.
    const code = (snippet as string).replace(/^\s*import .*$/m, '');
    const receive = new Function('Webhook', 'process', 'rawBody', 'req', `${code}\nreturn event;`) as (
      webhook: typeof Webhook,
      process: { env: Record<string, string> },
      rawBody: string,
      req: { headers: Record<string, string> },
    ) => unknown;
    const secret = newSecret();
    const body = JSON.stringify({
      id: 'evt_1',
      type: 'message.received',
      createdAt: '2026-11-26T10:00:00.000Z',
      data: { threadId: 'th_1' },
    });
    const headers = signedHeaders(secret, 'msg_1', body, new Date());
    const env = { env: { PARLEY_WEBHOOK_SECRET: secret } };

    expect(receive(Webhook, env, body, { headers })).toEqual(JSON.parse(body));
    expect(() => receive(Webhook, env, body.replace('th_1', 'th_2'), { headers })).toThrow();
    expect(() => receive(Webhook, { env: { PARLEY_WEBHOOK_SECRET: newSecret() } }, body, { headers })).toThrow();
  });
});

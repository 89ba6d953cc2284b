/**
 * Account webhook URLs over HTTP on the local runtime: a registered Messenger account completes Meta's
 * subscription handshake at its own URL, an id nobody registered is answered as a wrong secret, and the
 * App Dashboard's "Test" sample arrives as a message a new user can see.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message, Thread } from '../../domain/conversations/model.ts';
import { startRuntime, type Runtime } from '../../runtime/runtime.ts';

const API_KEY = 'prl_accounts_e2e_key_0123456789';
const PAGE = '106577777777701';
const page = {
  appSecret: 'registered-page-app-secret-0123456789',
  verifyToken: 'registered-page-verify-token',
  pageAccessToken: 'EAAregisteredPageToken0123456789',
  pageId: PAGE,
};

let runtime: Runtime;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'parley-accounts-e2e-'));
  runtime = await startRuntime({ port: 0, dataDir, logLevel: 'silent', timeScale: 0.001, env: { PARLEY_API_KEY: API_KEY } });
});
afterAll(async () => {
  await runtime?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const api = async <T>(path: string, init: RequestInit = {}) => {
  const response = await fetch(`${runtime.url}/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...init.headers },
  });
  return { status: response.status, body: (await response.json()) as T };
};

const answerOf = async (response: Response) => ({ status: response.status, body: await response.text() });
const handshake = (accountPath: string, token: string) =>
  fetch(
    `${runtime.url}/webhooks/messenger${accountPath}?hub.mode=subscribe&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=1158201444`,
  );
const signed = (body: Buffer, appSecret: string) => ({
  'content-type': 'application/json',
  'x-hub-signature-256': `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`,
});

describe('account webhook URLs', () => {
  it("answer Meta's verification handshake of a registered account at its own URL", async () => {
    const registered = await api<{ webhookUrl: string }>('/accounts', {
      method: 'POST',
      body: JSON.stringify({ channel: 'messenger', accountId: PAGE, credentials: page }),
    });
    expect(registered.status).toBe(201);
    expect(registered.body.webhookUrl).toBe(`/webhooks/messenger/${PAGE}`);
    expect(await answerOf(await handshake(`/${PAGE}`, page.verifyToken))).toEqual({ status: 200, body: '1158201444' });
  });

  it('answer an id nobody registered exactly as a wrong token or a wrong signature', async () => {
    const wrongToken = await answerOf(await handshake(`/${PAGE}`, 'guess'));
    expect(wrongToken.status).toBe(403);
    expect(await answerOf(await handshake('/106500000000001', 'guess'))).toEqual(wrongToken);
    const body = Buffer.from('{"object":"page","entry":[]}');
    const wrongSignature = await answerOf(
      await fetch(`${runtime.url}/webhooks/messenger/${PAGE}`, { method: 'POST', headers: signed(body, 'guess'), body }),
    );
    expect(wrongSignature.status).toBe(401);
    const unknown = await fetch(`${runtime.url}/webhooks/messenger/106500000000001`, {
      method: 'POST',
      headers: signed(body, 'guess'),
      body,
    });
    expect(await answerOf(unknown)).toEqual(wrongSignature);
  });
});

describe("the App Dashboard's Test button", () => {
  it('arrives as a message of the default Page, from the sample customer', async () => {
    const info = runtime.channels.find((c) => c.channel === 'messenger')!;
    const body = readFileSync(new URL('../fixtures/messenger/dashboard-test.json', import.meta.url));
    const response = await fetch(`${runtime.url}/webhooks/messenger`, {
      method: 'POST',
      headers: signed(body, info.credentials['appSecret']!),
      body,
    });
    expect(response.status).toBe(200);
    await runtime.idle();
    const threads = await api<{ items: Thread[] }>('/threads?channel=messenger&externalUserId=12334');
    expect(threads.body.items).toHaveLength(1);
    const messages = await api<{ items: Message[] }>(`/threads/${threads.body.items[0]!.id}/messages`);
    expect(messages.body.items).toEqual([
      expect.objectContaining({
        direction: 'inbound',
        channel: 'messenger',
        accountId: info.accountId,
        content: { type: 'text', text: 'test_message' },
      }),
    ]);
  });
});

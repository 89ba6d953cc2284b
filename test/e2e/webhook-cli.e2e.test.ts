/**
 * `npm run webhook` (scripts/webhook.ts, run as its own process) against a started runtime: it signs with
 * the credentials the runtime has (the environment's where set, the data dir's development ones for the
 * rest, a registered account's when asked), the runtime accepts the request, and the customer's text is
 * stored in the channel's thread; `--print` gives a curl command that does the same.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demos } from '../../connectors/demo.ts';
import type { Channel } from '../../domain/content.ts';
import type { Message, Thread } from '../../domain/model.ts';
import { startRuntime, type Runtime } from '../../runtime/runtime.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const TELEGRAM_SECRET = 'cli-e2e-secret_0123';
let runtime: Runtime;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'parley-webhook-cli-'));
  runtime = await startRuntime({
    port: 0,
    dataDir,
    logLevel: 'silent',
    // Telegram's secret from the environment, its bot token from the development credentials: the mix
    // the command must assemble the way the runtime does.
    env: { TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET },
  });
});
afterAll(async () => {
  await runtime?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Runs `npm run webhook -- …`'s command with the environment of a shell that set only `env`. */
const webhookCli = (args: string[], env: Record<string, string> = {}) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/webhook.ts', ...args],
      { cwd: root, env: { PATH: process.env.PATH, PARLEY_DATA_DIR: dataDir, PARLEY_URL: runtime.url, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code) : 0, stdout, stderr }),
    );
  });

const api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
  const response = await fetch(`${runtime.apiBaseUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${runtime.apiKey}`, 'content-type': 'application/json', ...init.headers },
  });
  expect(response.ok, `${path} answered ${response.status}`).toBe(true);
  return (await response.json()) as T;
};

/** The texts stored in the thread of the channel's sample customer. */
const textsOf = async (channel: Channel): Promise<string[]> => {
  await runtime.idle();
  const { customer } = demos[channel];
  const threads = await api<{ items: Thread[] }>(
    `/threads?channel=${channel}&externalUserId=${encodeURIComponent(customer.externalUserId)}`,
  );
  const thread = threads.items[0];
  if (!thread) return [];
  const messages = await api<{ items: Message[] }>(`/threads/${thread.id}/messages?limit=100`);
  return messages.items.flatMap((m) => (m.content.type === 'text' ? [m.content.text] : []));
};

describe('npm run webhook', () => {
  it.each([
    ['telegram', 'Where is my order? 📦', { TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET }],
    ['whatsapp', 'Olá! Meu pedido não chegou', {}],
    ['line', "It's still not here (box)", {}],
  ] as const)('posts a %s customer text the runtime accepts and stores', async (channel, text, env) => {
    const result = await webhookCli([channel, text], env);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`POST ${runtime.url}/webhooks/${channel} → 200 OK\n{"ok":true,"events":1}\n`);
    expect(result.code).toBe(0);
    expect(await textsOf(channel)).toContain(text);
  });

  it('prints the status and answer of a refused request, and exits 1', async () => {
    // A shell that has another secret than the runtime: Telegram's check refuses it.
    const result = await webhookCli(['telegram', 'hi'], { TELEGRAM_WEBHOOK_SECRET: 'not-the-runtimes-secret' });
    expect(result.stdout).toBe(
      `POST ${runtime.url}/webhooks/telegram → 401 Unauthorized\n{"code":"invalid_signature","message":"missing or wrong signature"}\n`,
    );
    expect(result.code).toBe(1);
  });

  it('signs for a registered account with its own credentials, on its webhook URL', async () => {
    const phoneNumberId = '106540352242922';
    await api('/accounts', {
      method: 'POST',
      body: JSON.stringify({
        channel: 'whatsapp',
        accountId: phoneNumberId,
        credentials: { appSecret: 'second-number-app-secret', verifyToken: 'verify-2', accessToken: 'EAAtoken2', phoneNumberId },
      }),
    });
    const result = await webhookCli(['whatsapp', 'From the second number', '--account', phoneNumberId]);
    expect(result.stdout).toBe(`POST ${runtime.url}/webhooks/whatsapp/${phoneNumberId} → 200 OK\n{"ok":true,"events":1}\n`);
    await runtime.idle();
    const threads = await api<{ items: Thread[] }>(`/threads?channel=whatsapp&externalUserId=${demos.whatsapp.customer.externalUserId}`);
    const texts = await Promise.all(
      threads.items.map(async (t) =>
        (await api<{ items: Message[] }>(`/threads/${t.id}/messages`)).items.map((m) => [
          m.accountId,
          m.content.type === 'text' ? m.content.text : '',
        ]),
      ),
    );
    expect(texts.flat()).toContainEqual([phoneNumberId, 'From the second number']);
  });

  it('names an account it does not know instead of signing with the wrong credentials', async () => {
    const result = await webhookCli(['telegram', 'hi', '--account', '999'], { TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET });
    expect(result.stderr).toBe(
      `webhook: telegram has no account '999' in ${dataDir}: register it with POST /v1/accounts, with its credentials\n`,
    );
    expect(result.code).toBe(1);
  });

  it('--print gives a curl command that posts the same signed request', async () => {
    const text = "Printed, then run: it's signed";
    const printed = await webhookCli(['line', text, '--print']);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toMatch(
      /^curl -sS -X POST '.*\/webhooks\/line' \\\n {2}-H 'content-type: [^']*' \\\n {2}-H 'x-line-signature: [A-Za-z0-9+/=]+' \\\n {2}--data-raw '/,
    );
    const { stdout } = await promisify(execFile)('bash', ['-c', printed.stdout], { env: { PATH: process.env.PATH } });
    expect(JSON.parse(stdout)).toEqual({ ok: true, events: 1 });
    expect(await textsOf('line')).toContain(text);
  });
});

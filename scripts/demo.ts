/**
 * `npm run demo`: plays a sample conversation on every channel against a running `npm start`, then prints
 * the thread as the integrator API returns it. Uses the same data dir, port and environment as `npm start`
 * to find the webhook credentials and the API key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demos } from '../connectors/demo.ts';
import { connectors } from '../connectors/registry.ts';
import type { Connector } from '../domain/connector.ts';
import type { Credentials } from '../domain/ports.ts';
import type { Message, Thread } from '../domain/model.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const dataDir = resolve(root, process.env.PARLEY_DATA_DIR ?? '.parley');
const base = process.env.PARLEY_URL ?? `http://${process.env.HOST ?? '127.0.0.1'}:${process.env.PORT ?? 3000}`;
const readFile = (name: string) => (existsSync(resolve(dataDir, name)) ? readFileSync(resolve(dataDir, name), 'utf8') : undefined);
const apiKey = process.env.PARLEY_API_KEY ?? readFile('api-key')?.trim();
const devCredentials = JSON.parse(readFile('dev-credentials.json') ?? '{}') as Record<string, Credentials>;

const fail = (message: string): never => {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(1);
};

const health = await fetch(`${base}/health`).catch(() => undefined);
if (!health?.ok) fail(`no Parley at ${base}: start it first with 'npm start' (in another terminal)`);
if (!apiKey) fail(`no API key: set PARLEY_API_KEY or start Parley once so it creates ${dataDir}/api-key`);

const api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
  const response = await fetch(`${base}/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...init.headers },
  });
  const body = (await response.json()) as T & { message?: string };
  if (!response.ok) fail(`${init.method ?? 'GET'} /v1${path} answered ${response.status}: ${body.message ?? ''}`);
  return body;
};

const credentialsFor = (connector: Connector): Credentials => {
  const fromEnv = Object.fromEntries(
    Object.entries(connector.environment.credentials).flatMap(([name, variable]) =>
      process.env[variable] ? [[name, process.env[variable] as string]] : [],
    ),
  );
  return Object.keys(fromEnv).length > 0 ? fromEnv : (devCredentials[connector.channel] ?? {});
};

const show = (m: Message): string => {
  const who = m.author.role === 'customer' ? (m.author.displayName ?? 'customer') : m.author.role;
  const c = m.content;
  const what =
    c.type === 'text'
      ? c.text + [...(c.quickReplies ?? []), ...(c.buttons ?? [])].map((q) => `  [${q.text}]`).join('')
      : c.type === 'reply'
        ? `(tapped) ${c.text}`
        : 'caption' in c && c.caption
          ? `(${c.type}) ${c.caption}`
          : `(${c.type})`;
  return `  ${m.occurredAt.slice(11, 19)}  ${who.padEnd(10)} ${what}   · ${m.status}`;
};

const run = Math.floor(Date.now() / 1000);
const until = async <T>(probe: () => Promise<T | undefined>, what: string): Promise<T> => {
  for (let i = 0; i < 100; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  return fail(`timed out waiting for ${what}`);
};

/** The message once it has left `queued` (sent, or failed with its reason). */
const settled = (threadId: string, messageId: string, what: string) =>
  until(async () => {
    const { items } = await api<{ items: Message[] }>(`/threads/${threadId}/messages?limit=100`);
    const m = items.find((i) => i.id === messageId);
    return m && m.status !== 'queued' ? m : undefined;
  }, what);

for (const connector of Object.values(connectors) as Connector[]) {
  const demo = demos[connector.channel];
  if (!demo) continue;
  const credentials = credentialsFor(connector);
  const post = async (request: { headers: Record<string, string>; body: string }) => {
    const response = await fetch(`${base}/webhooks/${connector.channel}`, { method: 'POST', ...request });
    if (!response.ok) fail(`webhook answered ${response.status}: ${await response.text()}`);
  };
  console.log(`\n== ${connector.channel}: ${demo.customer.name} writes in`);
  for (const request of demo.opening(credentials, run)) await post(request);

  const query = `?channel=${connector.channel}&externalUserId=${encodeURIComponent(demo.customer.externalUserId)}`;
  const thread = await until(async () => (await api<{ items: Thread[] }>(`/threads${query}`)).items[0], 'the thread');
  console.log(`   thread ${thread.id} (contact ${thread.contactId})`);

  const reply = await api<Message>(`/threads/${thread.id}/messages`, {
    method: 'POST',
    headers: { 'idempotency-key': `demo-${run}-${connector.channel}` },
    body: JSON.stringify({
      content: {
        type: 'text',
        text: `Sorry about that, ${demo.customer.name.split(' ')[0]}! Shall we send it again, or refund you?`,
        quickReplies: [
          { text: 'Send it again', payload: 'order:A-1029:resend' },
          { text: 'Refund me', payload: 'order:A-1029:refund' },
        ],
      },
    }),
  });
  console.log(`   agent reply ${reply.id} queued`);
  const sent = await settled(thread.id, reply.id, 'the reply to be sent');
  console.log(
    `   reply ${sent.status}${sent.externalId ? ` as ${connector.channel} message ${sent.externalId}` : ''}${sent.failure ? `: ${sent.failure.message}` : ''}`,
  );
  for (const request of demo.afterReply(credentials, run, sent)) await post(request);

  // Buttons that stay with the message: native where the channel has them, written out where it has not.
  const followUp = await api<Message>(`/threads/${thread.id}/messages`, {
    method: 'POST',
    headers: { 'idempotency-key': `demo-${run}-${connector.channel}-buttons` },
    body: JSON.stringify({
      content: {
        type: 'text',
        text: 'Done. You can follow the parcel here, or reach a person any time.',
        buttons: [
          { type: 'url', text: 'Track parcel', url: 'https://example.com/track/A-1029' },
          { type: 'postback', text: 'Talk to a person', payload: 'handoff' },
        ],
      },
    }),
  });
  const delivered = await settled(thread.id, followUp.id, 'the follow-up to be sent');
  console.log(`   follow-up with buttons ${delivered.status}${delivered.failure ? `: ${delivered.failure.message}` : ''}`);

  await new Promise((r) => setTimeout(r, 300));
  const { items } = await api<{ items: Message[] }>(`/threads/${thread.id}/messages?limit=100`);
  console.log(`\n   Thread ${thread.id} through GET /v1/threads/${thread.id}/messages:`);
  for (const m of items) console.log(show(m));
}
console.log(`\nDone. Explore: curl -H 'Authorization: Bearer ${apiKey}' ${base}/v1/threads/<id>/messages`);

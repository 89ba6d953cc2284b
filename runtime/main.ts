/**
 * `npm start`: runs Parley on this machine. Configuration comes from the environment (contract.md):
 * PORT, HOST, PARLEY_DATA_DIR, PARLEY_API_KEY, each channel's credentials and API base URL, and
 * PARLEY_LOG_LEVEL (debug, info, warn, error).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LogLevel } from './local-log.ts';

// The AWS SDK warns on every start that its 2027 releases will need Node 22; Lambda runs Node 24 and the
// pinned SDK works on Node 20, so the warning says nothing to someone running Parley locally.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { startRuntime, DataDirInUseError, ListenError } = await import('./runtime.ts');

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`PORT must be a port number, but '${process.env.PORT}' was given\n`);
  process.exit(2);
}

const dataDir = resolve(root, process.env.PARLEY_DATA_DIR ?? '.parley');
const runtime = await startRuntime({
  port,
  host: process.env.HOST ?? '127.0.0.1',
  dataDir,
  logLevel: (process.env.PARLEY_LOG_LEVEL as LogLevel | undefined) ?? 'info',
  onFatal: (error) => {
    process.stderr.write(`Parley cannot go on: ${error.message}\n`);
    process.exit(1);
  },
}).catch((error: unknown) => {
  const what =
    error instanceof ListenError
      ? `${error.message} (set ${error.variable})`
      : error instanceof DataDirInUseError || error instanceof Error
        ? error.message
        : String(error);
  process.stderr.write(`Parley could not start: ${what}\n`);
  process.exit(1);
});

/** A value as one shell word, whatever it holds. */
const shellWord = (value: string): string => (/^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`);
const telegram = runtime.channels.find((c) => c.channel === 'telegram');
// Lines to paste into the shell where the README's walkthrough, `npm run demo` and `npm run webhook` run.
// A secret that came from the environment is named, not printed: it is already in a shell the user owns.
const exports = [
  `export PARLEY_URL=${shellWord(runtime.url)}`,
  runtime.apiKeySource === 'environment' ? 'export API_KEY="$PARLEY_API_KEY"' : `export API_KEY=${shellWord(runtime.apiKey)}`,
  ...(telegram?.credentials['webhookSecret']
    ? [
        process.env.TELEGRAM_WEBHOOK_SECRET
          ? 'export WEBHOOK_SECRET="$TELEGRAM_WEBHOOK_SECRET"   # Telegram\'s secret token'
          : `export WEBHOOK_SECRET=${shellWord(telegram.credentials['webhookSecret'])}   # Telegram's secret token`,
      ]
    : []),
  ...(process.env.PARLEY_DATA_DIR ? [`export PARLEY_DATA_DIR=${shellWord(dataDir)}`] : []),
];

const lines = [
  '',
  `Parley is running at ${runtime.url}`,
  '',
  "Webhooks (POST the provider's raw request here):",
  ...runtime.channels.map((c) => `  ${c.channel.padEnd(10)} ${c.webhookUrl}   account ${c.accountId}, ${c.source} credentials`),
  '',
  `Integrator API: ${runtime.apiBaseUrl}   (OpenAPI: ${runtime.apiBaseUrl}/openapi.json)`,
  runtime.apiKeySource === 'environment'
    ? `API key: the one in PARLEY_API_KEY (${runtime.apiKey.slice(0, 4)}…)`
    : `API key (${runtime.apiKeySource}): ${runtime.apiKey}`,
  '',
  'For the walkthrough in the README, npm run demo and npm run webhook, paste into another shell:',
  '',
  ...exports.map((line) => `  ${line}`),
  '',
];
const dev = runtime.channels.filter((c) => c.source === 'development');
if (dev.length > 0) {
  lines.push("Development credentials (generated, kept in the data dir; set the channel's variables to use real ones):");
  for (const c of dev) {
    lines.push(
      `  ${c.channel}: ${Object.entries(c.credentials)
        .map(([k, v]) => `${k}=${v}`)
        .join('  ')}`,
    );
    lines.push(`    replies go to the built-in sandbox at ${c.apiBaseUrl}`);
  }
  lines.push('', 'Try it: npm run demo, or one message: npm run webhook -- telegram "Hello!"', '');
}
for (const c of runtime.channels.filter((c) => c.source === 'mixed')) {
  lines.push(`Note: ${c.channel} has only some of its variables set; the others are development values, and`);
  lines.push(
    `  ${c.apiBaseUrl.includes('/sandbox/') ? `replies go to the built-in sandbox at ${c.apiBaseUrl}` : `replies go to ${c.apiBaseUrl}`}.`,
    '',
  );
}
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) {
    process.stdout.write(`${signal} again: exiting now\n`);
    process.exit(130);
  }
  stopping = true;
  process.stdout.write(`\n${signal}: stopping; queued work is kept in the data dir\n`);
  await runtime.stop();
  process.exit(0);
};
// Before the banner: whoever reads it (a supervisor, a test) may signal at once.
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
process.stdout.write(`${lines.join('\n')}\n`);

/**
 * `npm run webhook -- <channel> [text] [--account <id>] [--url <base URL>] [--print]`: posts one text
 * message from a customer to a running Parley, as the channel's provider would send it (its documented
 * body, signed or carrying its secret), and prints Parley's answer. Meta's and LINE's signatures are HMACs
 * of the exact bytes, which nobody wants to compute by hand.
 *
 * The credentials are the ones `npm start` uses: each channel's environment variables (docs/channels.md)
 * where set, the development credentials in the data dir for the rest; a registered account's from the data
 * dir. Exit code 0 when Parley accepted the request, 1 when it did not or could not be reached, 2 on a usage
 * error.
 */
import { randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LocalSecretStore } from '../adapters/local/local-secrets.ts';
import { demos, type DemoRequest } from '../connectors/demo.ts';
import { connectors } from '../connectors/registry.ts';
import type { Connector } from '../domain/connector.ts';
import type { Channel } from '../domain/content.ts';
import { DEFAULT_ACCOUNT } from '../domain/ingest.ts';
import type { Credentials } from '../domain/ports.ts';

const channels = Object.keys(connectors) as Channel[];
const USAGE = `usage: npm run webhook -- <channel> [text] [--account <id>] [--url <base URL>] [--print]

  channel     ${channels.join(', ')}
  text        what the customer writes (default: "Hello!")
  --account   a registered account (POST /v1/accounts) instead of the channel's default one
  --url       where Parley runs (default: $PARLEY_URL, else http://$HOST:$PORT, else http://127.0.0.1:3000)
  --print     print the signed request as a curl command instead of sending it

Credentials are those npm start uses: the channel's variables (docs/channels.md) where set, else the
development credentials in $PARLEY_DATA_DIR/dev-credentials.json (default .parley/).
`;

const fail = (message: string, code = 1): never => {
  process.stderr.write(`webhook: ${message}\n`);
  process.exit(code);
};

let parsed: ReturnType<typeof parseOptions>;
const parseOptions = () =>
  parseArgs({
    allowPositionals: true,
    options: {
      account: { type: 'string' },
      url: { type: 'string' },
      print: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
try {
  parsed = parseOptions();
} catch (error) {
  fail(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`, 2);
}
const { values, positionals } = parsed!;
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const [channelArg, text = 'Hello!', ...extra] = positionals;
if (!channelArg || extra.length > 0) fail(`${channelArg ? 'one text only (quote it)' : 'which channel?'}\n\n${USAGE}`, 2);
if (!channels.includes(channelArg as Channel)) fail(`no channel '${channelArg}': one of ${channels.join(', ')}`, 2);
const channel = channelArg as Channel;
const connector = connectors[channel] as Connector;
if (text === '') fail('the text is empty', 2);

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const dataDir = resolve(root, process.env.PARLEY_DATA_DIR ?? '.parley');
const base = (values.url ?? process.env.PARLEY_URL ?? `http://${process.env.HOST ?? '127.0.0.1'}:${process.env.PORT ?? 3000}`).replace(
  /\/+$/,
  '',
);

/** The default account's credentials as the runtime assembles them: each variable that is set, over the development ones. */
const defaultCredentials = (): Credentials | undefined => {
  const devPath = join(dataDir, 'dev-credentials.json');
  const development = existsSync(devPath) ? (JSON.parse(readFileSync(devPath, 'utf8')) as Record<string, Credentials>)[channel] : undefined;
  const fromEnv = Object.fromEntries(
    Object.entries(connector.environment.credentials).flatMap(([name, variable]) => {
      const value = process.env[variable];
      return value ? [[name, value]] : [];
    }),
  ) as Credentials;
  const complete = Object.keys(connector.environment.credentials).every((name) => fromEnv[name]);
  if (development === undefined && !complete) return undefined;
  return { ...development, ...fromEnv };
};

const defaults = defaultCredentials();
const accountId = connector.accountIdOf(defaults ?? {});
// The same lookup as the runtime's: the default account answers to `default` and to the id its credentials
// name; other accounts' credentials are those registered through the API, kept in the data dir.
const store = new LocalSecretStore(
  defaults ? { [channel]: { credentials: defaults, ...(accountId !== undefined && { accountId }) } } : {},
  join(dataDir, 'accounts', 'credentials.json'),
);
const credentials = await store.get(channel, values.account ?? DEFAULT_ACCOUNT);
if (!credentials) {
  fail(
    values.account === undefined
      ? `no ${channel} credentials: start Parley once with PARLEY_DATA_DIR=${dataDir} (npm start creates ${join(dataDir, 'dev-credentials.json')}), or set ${Object.values(connector.environment.credentials).join(', ')}`
      : `${channel} has no account '${values.account}' in ${dataDir}: register it with POST /v1/accounts, with its credentials`,
  );
}

const request: DemoRequest = demos[channel].customerText(credentials!, text, randomInt(1_000_000_000, 2 ** 31 - 1));
const url = `${base}/webhooks/${channel}${values.account === undefined ? '' : `/${encodeURIComponent(values.account)}`}`;

/** A string as one shell word, whatever it holds. */
const shellWord = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;

if (values.print) {
  const headers = Object.entries(request.headers).map(([name, value]) => ` \\\n  -H ${shellWord(`${name}: ${value}`)}`);
  process.stdout.write(`curl -sS -X POST ${shellWord(url)}${headers.join('')} \\\n  --data-raw ${shellWord(request.body)}\n`);
  process.exit(0);
}

const response = await fetch(url, { method: 'POST', headers: request.headers, body: request.body }).catch((error: unknown) =>
  fail(
    `no Parley at ${base} (${error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error)}): start it with npm start, or pass --url`,
  ),
);
const answer = await response.text();
process.stdout.write(
  `POST ${url} → ${response.status} ${response.statusText}\n${answer}${answer.endsWith('\n') || answer === '' ? '' : '\n'}`,
);
process.exit(response.ok ? 0 : 1);

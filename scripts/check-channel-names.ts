/**
 * Channels differ only inside `connectors/`: outside it, no code names a channel. The exceptions are the
 * declarations that list them (the channel enum, the deployed and media-copying channels of the topology) and
 * each channel's one-line function entries. Run by `npm run lint` (and so in CI); exits 1 naming each offending line.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHANNELS } from '../domain/content.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const CHECKED = ['domain', 'api', 'adapters', 'functions', 'runtime', 'lib', 'bin', 'topology'];
/** Files allowed to name channels, and why. */
const ALLOWED: Readonly<Record<string, string>> = {
  'domain/content.ts': 'the channel enum',
  'topology/channels.ts': 'the channels this build deploys',
  'topology/topology.ts': 'the channels whose media is copied',
  'runtime/main.ts': "the README walkthrough's Telegram secret, printed for the shell at start",
};
/** Each channel's function entries bind the shared function to that channel's connector. */
const ENTRY = /^functions\/(webhooks|senders|media-copiers)\/[a-z]+\.ts$/;

const files = (dir: string): string[] =>
  readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(root, path)).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });

const literal = new RegExp(`(['"\`])(${CHANNELS.join('|')})\\1`);
const offending = CHECKED.flatMap(files)
  .filter((path) => !(path in ALLOWED) && !ENTRY.test(path))
  .flatMap((path) =>
    readFileSync(join(root, path), 'utf8')
      .split('\n')
      .flatMap((line, index) => (literal.test(line) ? [`${relative(root, join(root, path))}:${index + 1}: ${line.trim()}`] : [])),
  );
if (offending.length > 0) {
  process.stderr.write(`Channel names outside connectors/ (channels differ only inside connectors/):\n${offending.join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`channel names: none outside connectors/ (${CHECKED.join(', ')} checked)\n`);

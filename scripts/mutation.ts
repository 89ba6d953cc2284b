/**
 * `npm run mutation`: Stryker over `domain/` and `connectors/` (stryker.config.json), incremental, failing
 * under a mutation score of 80.
 *
 *   npm run mutation                                        # every file of the config's `mutate`, one run
 *   npm run mutation -- connectors/line/line.verify.ts      # one file (or several, one run each)
 *   npm run mutation -- --force connectors/text.ts          # ignore the incremental results, retest all
 *
 * Each run keeps its own incremental file under reports/mutation/incremental/ (kept out of git), because
 * Stryker rewrites that file with only the files of the run: a one-file run must not erase the results of
 * the full run. The HTML and JSON reports of the last run are in reports/mutation/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, normalize, relative, resolve, sep } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const strykerBin = join(dirname(createRequire(import.meta.url).resolve('@stryker-mutator/core/package.json')), 'bin', 'stryker.js');

const args = process.argv.slice(2);
const passThrough = args.filter((a) => a === '--force');
const unknown = args.filter((a) => a.startsWith('-') && a !== '--force');
const files = args.filter((a) => !a.startsWith('-'));

function fail(message: string): never {
  process.stderr.write(`npm run mutation: ${message}\n`);
  process.exit(2);
}

if (unknown.length > 0) fail(`unknown option ${unknown.join(' ')} (only --force is accepted)`);

/** The file as a path relative to the repository, or a reason it cannot be mutated. */
function checkFile(arg: string): string {
  const rel = relative(root, resolve(arg)).split(sep).join('/');
  if (!/^(domain|connectors)\/.+\.ts$/.test(rel)) fail(`${arg}: only .ts files under domain/ or connectors/`);
  if (/(^|\/)(demo|sandbox-media)\.ts$|\.(demo|sandbox)\.ts$/.test(rel)) fail(`${arg}: demo and sandbox files are not mutated`);
  if (!existsSync(join(root, rel))) fail(`${arg}: no such file`);
  return rel;
}

function stryker(extra: string[]): number {
  const run = spawnSync(process.execPath, [strykerBin, 'run', 'stryker.config.json', ...extra, ...passThrough], {
    cwd: root,
    stdio: 'inherit',
  });
  return run.status ?? 1;
}

if (files.length === 0) {
  process.exit(stryker([]));
}

const targets = files.map(checkFile);
const failed: string[] = [];
for (const file of targets) {
  const incrementalFile = normalize(`reports/mutation/incremental/${file.replaceAll('/', '__')}.json`);
  if (stryker(['--mutate', file, '--incrementalFile', incrementalFile]) !== 0) failed.push(file);
}
if (failed.length > 0) {
  process.stderr.write(`npm run mutation: under the threshold or failed: ${failed.join(', ')}\n`);
  process.exit(1);
}

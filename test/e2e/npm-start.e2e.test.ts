/**
 * `npm start` as a new user meets it, in real processes (`node --import tsx runtime/main.ts`, what the
 * script runs): the lines it prints can be pasted into a shell and carry the README's walkthrough; a second
 * start on the same data dir, or on a taken port, says so in one line and exits 1 without touching the data;
 * a lock left by a Parley that is gone does not stand in the way.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-start-'));
  dirs.push(dir);
  return dir;
};

/** The environment of a user who set nothing: no channel credentials, no port, no key. */
const cleanEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !/^(PORT|HOST|PARLEY_.*|API_KEY|WEBHOOK_SECRET|(WHATSAPP|MESSENGER|INSTAGRAM|LINE|KAKAO|TELEGRAM)_.*)$/.test(name),
    ),
  ),
  PARLEY_LOG_LEVEL: 'warn',
  ...extra,
});

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
}

/** Spawns `npm start`'s command; resolves once it says it runs, or rejects with what it said on exiting. */
const start = (env: NodeJS.ProcessEnv): Promise<Started> => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'runtime/main.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const onData = () => {
      // The banner is written at once, in one chunk.
      const url = /Parley is running at (http:\/\/\S+)/.exec(stdout)?.[1];
      if (url) {
        child.stdout?.off('data', onData);
        resolve({ child, url, stdout: () => stdout, stderr: () => stderr, exited });
      }
    };
    child.stdout?.on('data', onData);
    void exited.then((code) => reject(new Error(`exited ${code} before running:\n${stdout}\n${stderr}`)));
  });
};

/** Runs the command to its end: exit code and output. */
const run = (env: NodeJS.ProcessEnv) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'runtime/main.ts'], { cwd: root, env, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });

const stop = async (started: Started) => {
  started.child.kill('SIGTERM');
  return started.exited;
};

/** Names, sizes, times and contents of what a user's data dir holds (dynalite's own files by name only). */
const snapshot = (dir: string): Record<string, string> => {
  const entries: Record<string, string> = {};
  const walk = (path: string, name: string) => {
    const info = statSync(path);
    if (info.isDirectory()) {
      entries[`${name}/`] = `${info.mtimeMs}`;
      if (name.endsWith('dynamodb')) return;
      for (const child of readdirSync(path)) walk(join(path, child), `${name}/${child}`);
      return;
    }
    entries[name] = `${info.size} ${info.mtimeMs} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
  };
  walk(dir, '.');
  return entries;
};

let first: Started;
let firstDir: string;

beforeAll(async () => {
  firstDir = tempDir();
  first = await start(cleanEnv({ PARLEY_DATA_DIR: firstDir, PORT: '0' }));
}, 60_000);

afterAll(async () => {
  if (first) await stop(first);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('refuses a second start on the same data dir in one line, exits 1, and leaves the data as it was', async () => {
    const before = snapshot(firstDir);
    const second = await run(cleanEnv({ PARLEY_DATA_DIR: firstDir, PORT: '0' }));
    expect(second.stderr).toBe(`Parley could not start: the data dir ${firstDir} is in use by another Parley (pid ${first.child.pid})\n`);
    expect(second.code).toBe(1);
    expect(second.stdout).toBe('');
    expect(snapshot(firstDir)).toEqual(before);
    // The first one still works.
    expect((await fetch(`${first.url}/health`)).status).toBe(200);
  }, 60_000);

  it('prints lines a shell can paste, and the README walkthrough runs with them', async () => {
    const exports = first
      .stdout()
      .split('\n')
      .filter((line) => /^\s+export /.test(line))
      .map((line) => line.trim());
    const apiKey = readFileSync(join(firstDir, 'api-key'), 'utf8').trim();
    const dev = JSON.parse(readFileSync(join(firstDir, 'dev-credentials.json'), 'utf8')) as Record<string, Record<string, string>>;
    expect(exports).toEqual([
      `export PARLEY_URL=${first.url}`,
      `export API_KEY=${apiKey}`,
      `export WEBHOOK_SECRET=${dev.telegram?.webhookSecret}   # Telegram's secret token`,
      `export PARLEY_DATA_DIR=${firstDir}`,
    ]);

    // The README's own commands, in a shell that has only what was pasted.
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const walkthrough = /By hand[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const [beforeThread, afterThread] = walkthrough.split(/^export THREAD_ID=.*$/m);
    expect(afterThread).toBeDefined();
    // Each answer on a line of its own, to read them apart.
    const shell = async (script: string, extra: Record<string, string> = {}) =>
      (
        await promisify(execFile)('bash', ['-c', `set -eu\ncurl() { command curl "$@"; echo; }\n${exports.join('\n')}\n${script}`], {
          env: { PATH: process.env.PATH, ...extra },
        })
      ).stdout;

    const answersOf = (output: string) =>
      output
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    let answers: Record<string, unknown>[] = [];
    // The customer's message may still be on its way to the thread; Telegram's redelivery of the same
    // update changes nothing, so the first part runs again as it is.
    for (let i = 0; i < 50; i++) {
      answers = answersOf(await shell(beforeThread ?? ''));
      if ((answers[1]?.items as unknown[]).length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(answers[0]).toEqual({ ok: true, events: 1 });
    const thread = (answers[1]?.items as { id: string; channels: string[] }[])[0];
    expect(thread?.channels).toEqual(['telegram']);

    for (let i = 0; i < 50; i++) {
      answers = answersOf(await shell(afterThread ?? '', { THREAD_ID: thread?.id ?? '' }));
      if ((answers[0]?.items as unknown[]).length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((answers[0]?.items as { content: { text: string } }[])[0]?.content.text).toBe('Hello!');
    expect(answers.at(-1)).toMatchObject({ direction: 'outbound', status: 'queued', content: { type: 'text', text: 'Hi Ann!' } });
  }, 60_000);

  it('refuses a taken port in one line, exits 1, and leaves no lock behind', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const dir = tempDir();
    try {
      const result = await run(cleanEnv({ PARLEY_DATA_DIR: dir, PORT: String(port) }));
      expect(result.stderr).toBe(`Parley could not start: port ${port} is in use (set PORT)\n`);
      expect(result.code).toBe(1);
      expect(existsSync(join(dir, 'parley.lock'))).toBe(false);
    } finally {
      taken.close();
    }
  }, 60_000);

  it('takes over the lock of a Parley that is gone, and gives it up when stopped', async () => {
    const dir = tempDir();
    // The pid of a process that has exited: what a crash or a kill -9 leaves behind.
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.on('exit', resolve));
    writeFileSync(join(dir, 'parley.lock'), `${JSON.stringify({ pid: gone.pid, token: 'crashed', lockedAt: new Date().toISOString() })}\n`);
    const started = await start(cleanEnv({ PARLEY_DATA_DIR: dir, PORT: '0' }));
    expect(JSON.parse(readFileSync(join(dir, 'parley.lock'), 'utf8'))).toMatchObject({ pid: started.child.pid });
    const code = await stop(started);
    expect(code, `${started.stdout()}\n${started.stderr()}`).toBe(0);
    expect(existsSync(join(dir, 'parley.lock'))).toBe(false);
  }, 60_000);
});

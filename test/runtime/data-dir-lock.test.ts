import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirInUseError, lockDataDir } from '../../runtime/startup.ts';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-lock-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const writeLock = (dir: string, lock: object) => writeFileSync(join(dir, 'parley.lock'), `${JSON.stringify(lock)}\n`);
const holderOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'parley.lock'), 'utf8')) as { pid: number; token: string };

describe('the data dir lock', () => {
  it('refuses a second runtime of the same process, and is free again once released', () => {
    const dir = tempDir();
    const lock = lockDataDir(dir);
    expect(() => lockDataDir(dir)).toThrow(new DataDirInUseError(dir, process.pid));
    lock.release();
    expect(existsSync(join(dir, 'parley.lock'))).toBe(false);
    lockDataDir(dir).release();
  });

  it('takes over a lock this pid left in an earlier life, and one that is not a lock at all', () => {
    const dir = tempDir();
    // A restarted container gives the new process the pid the old one had.
    writeLock(dir, { pid: process.pid, token: 'before-the-restart', lockedAt: new Date().toISOString() });
    const lock = lockDataDir(dir);
    expect(holderOf(dir).token).not.toBe('before-the-restart');
    lock.release();
    writeFileSync(join(dir, 'parley.lock'), 'garbage');
    lockDataDir(dir).release();
  });

  it.runIf(existsSync('/proc/self/stat'))('tells a live holder from a later process that got its pid', async () => {
    const dir = tempDir();
    const other = spawn('sleep', ['30']);
    await new Promise((resolve) => other.once('spawn', resolve));
    try {
      // Locked after the process started: that process may well hold it.
      writeLock(dir, { pid: other.pid, token: 'live', lockedAt: new Date(Date.now() + 2000).toISOString() });
      expect(() => lockDataDir(dir)).toThrow(new DataDirInUseError(dir, other.pid ?? 0));
      expect(holderOf(dir).token).toBe('live');
      // Locked an hour before the process started: its pid was reused, the holder is gone.
      writeLock(dir, { pid: other.pid, token: 'reused', lockedAt: new Date(Date.now() - 3_600_000).toISOString() });
      const lock = lockDataDir(dir);
      expect(holderOf(dir).pid).toBe(process.pid);
      lock.release();
    } finally {
      other.kill();
    }
  });

  it('leaves alone a lock that is no longer its own when released', () => {
    const dir = tempDir();
    const lock = lockDataDir(dir);
    writeLock(dir, { pid: process.pid + 1, token: 'someone-else', lockedAt: new Date().toISOString() });
    lock.release();
    expect(holderOf(dir).token).toBe('someone-else');
  });
});

/**
 * What the local runtime checks before it touches anything: that no other Parley uses its data dir, and
 * that it can listen where it was asked to. Both fail with an error that says what to do, not a stack.
 */
import { randomUUID } from 'node:crypto';
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import * as z from 'zod';

/** Another process (or another runtime in this one) holds the data dir. */
export class DataDirInUseError extends Error {
  readonly code = 'PARLEY_DATA_DIR_IN_USE';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`the data dir ${dataDir} is in use by another Parley (pid ${pid})`);
  }
}

/** The runtime cannot listen where it was told; `variable` is the setting to change. */
export class ListenError extends Error {
  readonly code = 'PARLEY_LISTEN_FAILED';
  constructor(
    message: string,
    readonly variable: 'PORT' | 'HOST',
  ) {
    super(message);
  }
}

export interface DataDirLock {
  /** The lock file, `<dataDir>/parley.lock`. */
  readonly path: string;
  /** Gives the data dir up; does nothing if the lock is no longer this holder's. */
  release(): void;
}

const LockFileSchema = z.object({ pid: z.int().positive(), token: z.string().min(1), lockedAt: z.iso.datetime() });
type LockFile = z.infer<typeof LockFileSchema>;

/** Locks this process holds, by lock file: a second runtime in the same process must be refused too. */
const held = new Map<string, string>();

/**
 * Takes the data dir for this process, or throws {@link DataDirInUseError} naming the holder's pid.
 *
 * The lock is a file holding the holder's pid, created whole and atomically (written aside, then
 * hard-linked into place, which fails if it exists). A lock whose process is gone, or whose pid now belongs to
 * a process started after the lock was taken (a restarted container reuses pids), is stale and taken
 * over: moved aside under a name of this process's own, and put back if it turns out to be a fresh lock
 * another starting Parley took meanwhile.
 */
export const lockDataDir = (dataDir: string): DataDirLock => {
  const path = join(dataDir, 'parley.lock');
  const token = randomUUID();
  const aside = `${path}.${process.pid}.${token}`;
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      // Read first: a data dir in use is left exactly as it is.
      const holder = readLock(path);
      if (holder !== 'gone' && holder !== 'unreadable' && isAlive(holder, path)) throw new DataDirInUseError(dataDir, holder.pid);
      if (holder !== 'gone') takeOver(path, holder, aside);
      if (attempt === 0) {
        const content: LockFile = { pid: process.pid, token, lockedAt: new Date().toISOString() };
        writeFileSync(aside, `${JSON.stringify(content)}\n`, { mode: 0o644 });
      }
      if (create(aside, path)) {
        held.set(path, token);
        return { path, release: () => release(path, token) };
      }
    }
    throw new Error(`could not take ${path}: other processes keep taking and dropping it`);
  } finally {
    rmSync(aside, { force: true });
  }
};

/** Puts the lock in place whole, or answers false when one exists. */
const create = (aside: string, path: string): boolean => {
  try {
    linkSync(aside, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
};

const readLock = (path: string): LockFile | 'gone' | 'unreadable' => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  try {
    return LockFileSchema.parse(JSON.parse(text));
  } catch {
    return 'unreadable';
  }
};

const isAlive = (holder: LockFile, path: string): boolean => {
  // This process in an earlier life (the same pid in a restarted container), unless a runtime here holds it.
  if (holder.pid === process.pid) return held.get(path) === holder.token;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: alive, another user's.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const startedAt = processStartedAt(holder.pid);
  // A process started after the lock was taken cannot have taken it (a second of slack for clock ticks).
  return startedAt === undefined || startedAt <= Date.parse(holder.lockedAt) + 1000;
};

/** When a process started, in ms since the epoch, where /proc tells (Linux); otherwise undefined. */
const processStartedAt = (pid: number): number | undefined => {
  try {
    const bootTime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses); start time is field 22.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    // /proc reports clock ticks of USER_HZ, 100 on every Linux architecture Node runs on.
    return Number.isFinite(bootTime) && Number.isFinite(ticks) ? bootTime * 1000 + ticks * 10 : undefined;
  } catch {
    return undefined;
  }
};

/** Removes a stale lock, unless what it moved aside is not the lock it judged (another took it meanwhile). */
const takeOver = (path: string, stale: LockFile | 'unreadable', aside: string): void => {
  const moved = `${aside}.stale`;
  try {
    renameSync(path, moved);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // another starter removed it first
    throw error;
  }
  const what = readLock(moved);
  const same = stale === 'unreadable' ? what === 'unreadable' : what !== 'gone' && what !== 'unreadable' && what.token === stale.token;
  if (!same) {
    try {
      linkSync(moved, path);
    } catch {
      // Someone holds it again already: the next attempt reads who.
    }
  }
  rmSync(moved, { force: true });
};

const release = (path: string, token: string): void => {
  if (held.get(path) !== token) return;
  held.delete(path);
  const holder = readLock(path);
  if (holder !== 'gone' && holder !== 'unreadable' && holder.token === token) rmSync(path, { force: true });
};

/**
 * Starts listening, or rejects with a {@link ListenError} that names the setting to change instead of the
 * raw `EADDRINUSE` a server emits.
 */
export const listen = (server: Server, port: number, host: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') reject(new ListenError(`port ${port} is in use`, 'PORT'));
      else if (error.code === 'EACCES') reject(new ListenError(`port ${port} needs privileges this user does not have`, 'PORT'));
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') {
        reject(new ListenError(`${host} is not an address of this machine`, 'HOST'));
      } else reject(new ListenError(`cannot listen on ${host}:${port}: ${error.message}`, 'PORT'));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });

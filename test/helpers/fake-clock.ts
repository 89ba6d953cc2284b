/**
 * A virtual clock for concurrent code: `sleep` waits in virtual time, and `run` advances time to the next
 * sleeper only once every actor is blocked (all microtasks and immediates settled), so a test of many concurrent
 * senders is deterministic and takes no real time. Works for code whose only waits are this clock's `sleep` and
 * promises (in-memory stores, fakes called in-process).
 */
export class VirtualClock {
  private current: number;
  private readonly sleepers: { at: number; seq: number; wake: () => void }[] = [];
  private seq = 0;

  constructor(start = Date.parse('2026-11-26T10:00:00.000Z')) {
    this.current = start;
  }

  now = (): number => this.current;

  date = (): Date => new Date(this.current);

  sleep = (ms: number): Promise<void> =>
    new Promise((wake) => {
      this.sleepers.push({ at: this.current + Math.max(0, ms), seq: this.seq++, wake });
    });

  /** Settles everything that can run now (promises resolve across several turns, so a few immediates). */
  private static async settle(): Promise<void> {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  }

  /** Runs `work` to its end, advancing virtual time whenever every actor sleeps. */
  async run<T>(work: Promise<T>): Promise<T> {
    let done = false;
    let failure: unknown;
    let result: T | undefined;
    work.then(
      (value) => {
        done = true;
        result = value;
      },
      (error: unknown) => {
        done = true;
        failure = error;
      },
    );
    for (;;) {
      await VirtualClock.settle();
      if (done) break;
      if (this.sleepers.length === 0) throw new Error('deadlock: nothing sleeps, and the work has not finished');
      this.sleepers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.sleepers.shift()!;
      this.current = Math.max(this.current, next.at);
      next.wake();
    }
    if (failure !== undefined) throw failure;
    return result as T;
  }
}

/** The most timestamps (ms) of a sorted list that fall within any window of `windowMs`. */
export const maxInWindow = (times: readonly number[], windowMs: number): number => {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while ((sorted[end] as number) - (sorted[start] as number) >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
};

/**
 * One async mutex per item, so a write reads, decides and commits an item without another write to it in
 * between. A multi-item operation takes its keys in one global (sorted) order: two operations can never each
 * hold a key the other waits for, so there is no deadlock. (dynalite's own `lock` module registers all keys of
 * an array at once and can deadlock two overlapping multi-key callers.)
 */
export class KeyLocks {
  /** A key present is held; its array is the queue of waiters, first come first served. */
  readonly #held = new Map<string, (() => void)[]>();

  /** Takes every key (duplicates count once) and resolves with the function that releases them all. */
  async acquire(keys: readonly string[]): Promise<() => void> {
    const sorted = [...new Set(keys)].sort();
    for (const key of sorted) {
      const waiting = this.#take(key);
      if (waiting) await waiting;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const key of sorted) this.#release(key);
    };
  }

  /** How many keys are held now (for tests and diagnostics). */
  get size(): number {
    return this.#held.size;
  }

  /** Takes the key now, or returns a promise that resolves when the key is handed over. */
  #take(key: string): Promise<void> | undefined {
    const waiters = this.#held.get(key);
    if (!waiters) {
      this.#held.set(key, []);
      return undefined;
    }
    return new Promise<void>((resolve) => waiters.push(resolve));
  }

  /** Hands the key to the next waiter, in order, or frees it. */
  #release(key: string): void {
    const waiters = this.#held.get(key);
    if (!waiters) return;
    const next = waiters.shift();
    if (next) next();
    else this.#held.delete(key);
  }
}

/**
 * Pacing: every call to a provider's API takes its turn on the account's rate (and, where the provider limits
 * one conversation too, on the conversation's), so Parley never exceeds what the provider allows, however many
 * senders run at once. The turns are kept in the store (one small record per account), shared by every sender
 * container, in AWS and locally alike.
 *
 * The rate is a GCRA (the virtual-scheduling form of a token bucket): one number per key, the theoretical arrival
 * time `tat` of the next call. A call at `now` may go when `tat - now` is within the tolerance; it then moves `tat`
 * on by one interval. In any window of `w` seconds at most `perSecond · w + burst` calls go: `perSecond + burst`
 * is therefore kept at or below the provider's limit per second.
 *
 * Replies to waiting customers go first: the proactive lane (notifications, campaigns) may use the rate only while
 * more than a reserve of the burst is left, so a reply finds a turn at once even while a campaign uses the whole
 * rate, and each reply moves the campaign's next turn back by one interval.
 * @see https://en.wikipedia.org/wiki/Generic_cell_rate_algorithm
 */
import { RateLimitedError } from '../provider-errors.ts';
import { ConflictError, NEW_RECORD } from '../shared/store.ts';
import type { DeliveryStore } from './ports.ts';

export type { PacingState } from './model.ts';

/** Which queue a message travels on: replies to customers, or proactive messages. */
export type Lane = 'interactive' | 'proactive';

export interface Rate {
  readonly perSecond: number;
  readonly burst: number;
}

/** Calls of the burst the proactive lane leaves to replies: a quarter, at least one. */
export const reserveOf = (rate: Rate): number => Math.max(1, Math.ceil(rate.burst / 4));

const intervalOf = (rate: Rate): number => 1000 / rate.perSecond;

/** How far ahead of `now` a lane may push `tat`: the burst's tolerance, less the reserve for the proactive lane. */
const toleranceOf = (rate: Rate, lane: Lane): number => {
  const interval = intervalOf(rate);
  const burst = Math.max(1, Math.floor(rate.burst));
  const usable = lane === 'interactive' || burst <= 1 ? burst : Math.max(1, burst - reserveOf(rate));
  return (usable - 1) * interval;
};

export type Admission = { readonly allowed: true; readonly tat: number } | { readonly allowed: false; readonly waitMs: number };

/** Whether a call may go now on this state, and the state after it; or how long until it may. */
export const admit = (tat: number | undefined, now: number, rate: Rate, lane: Lane): Admission => {
  const start = Math.max(tat ?? now, now);
  const over = start - now - toleranceOf(rate, lane);
  if (over > 0) return { allowed: false, waitMs: Math.ceil(over) };
  return { allowed: true, tat: start + intervalOf(rate) };
};

/**
 * The state after the provider asked to wait `seconds` (a 429 with `retry_after`): nobody's next call goes
 * before then. Telegram throttles the whole bot, not the one chat, so this holds for the whole account.
 */
export const penalized = (tat: number | undefined, now: number, seconds: number, rate: Rate): number =>
  Math.max(tat ?? now, now + seconds * 1000 + toleranceOf(rate, 'interactive'));

/** What pacing needs from outside. */
export interface PacingDeps {
  readonly store: Pick<DeliveryStore, 'getPacing' | 'commit'>;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/** A turn that would come too late to wait for inside this attempt: the job is postponed instead. */
export class PacingWaitError extends RateLimitedError {
  constructor(key: string, waitMs: number) {
    super(`pacing: the next turn on ${key} is ${Math.ceil(waitMs)} ms away`, Math.ceil(waitMs / 1000), 'paced');
    this.name = 'PacingWaitError';
  }
}

/** The last turn asked for on each key and lane in this process, per store: the next one waits for it. */
const queues = new WeakMap<object, Map<string, Promise<unknown>>>();

/**
 * Takes a turn on `key`, waiting for it when it is at most `maxWaitMs` away; otherwise throws
 * {@link PacingWaitError} (a rate limit with the wait), so the job is postponed rather than held.
 *
 * Within one process the turns of a lane on a key are taken one after another (a sender handles a batch's
 * conversations at once): racing each other for the same record, they would each read it again after every lost
 * write, paying a read per retry. Senders in other processes, and the other lane, still race, and the versioned
 * write keeps that right. Time spent waiting behind this process's earlier turns counts against `maxWaitMs`.
 */
export const takeTurn = (deps: PacingDeps, key: string, rate: Rate, lane: Lane, maxWaitMs: number): Promise<void> => {
  let byKey = queues.get(deps.store);
  if (!byKey) queues.set(deps.store, (byKey = new Map()));
  const slot = `${key}|${lane}`;
  const asked = deps.now();
  const previous = byKey.get(slot) ?? Promise.resolve();
  const turn = previous.then(() => takeTurnNow(deps, key, rate, lane, Math.max(0, maxWaitMs - (deps.now() - asked))));
  const settled = turn.catch(() => undefined);
  byKey.set(slot, settled);
  void settled.then(() => {
    if (byKey.get(slot) === settled) byKey.delete(slot);
  });
  return turn;
};

const takeTurnNow = async (deps: PacingDeps, key: string, rate: Rate, lane: Lane, maxWaitMs: number): Promise<void> => {
  let waited = 0;
  for (let conflicts = 0; ; ) {
    const state = await deps.store.getPacing(key);
    const now = deps.now();
    const admission = admit(state?.value.tat, now, rate, lane);
    if (admission.allowed) {
      try {
        await deps.store.commit([{ kind: 'pacing', op: 'put', value: { key, tat: admission.tat }, version: state?.version ?? NEW_RECORD }]);
        return;
      } catch (error) {
        if (!(error instanceof ConflictError) || ++conflicts > 50) throw error;
        // Another sender took this turn: look again at once (a short random pause spreads the retries).
        await deps.sleep(Math.random() * 2);
        continue;
      }
    }
    if (waited + admission.waitMs > maxWaitMs) throw new PacingWaitError(key, admission.waitMs);
    await deps.sleep(admission.waitMs);
    waited += admission.waitMs;
  }
};

/** Records the provider's own "wait" on the account, so every sender of it waits too. */
export const holdBack = async (deps: PacingDeps, key: string, rate: Rate, seconds: number): Promise<void> => {
  for (let tries = 0; tries < 20; tries++) {
    const state = await deps.store.getPacing(key);
    const tat = penalized(state?.value.tat, deps.now(), seconds, rate);
    if (state && state.value.tat >= tat) return;
    try {
      await deps.store.commit([{ kind: 'pacing', op: 'put', value: { key, tat }, version: state?.version ?? NEW_RECORD }]);
      return;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }
};

/** The key of an account's rate, and of one conversation's. */
export const accountPacingKey = (channel: string, accountId: string): string => `${channel}#${accountId}`;
export const conversationPacingKey = (channel: string, accountId: string, conversation: string): string =>
  `${channel}#${accountId}#${conversation}`;

/** How long a provider call may take once its turn came (the connectors' own timeout). */
export const PROVIDER_CALL_TIMEOUT_MS = 10_000;

/**
 * A `fetch` whose every call first takes its turns: each provider call, every part of a split text, is paced.
 * The connector's timeout started before the turn came, so a call that had to wait gets its full time again.
 */
export const pacedFetch =
  (fetch: typeof globalThis.fetch, turn: () => Promise<void>, timeoutMs = PROVIDER_CALL_TIMEOUT_MS): typeof globalThis.fetch =>
  async (input, init) => {
    const asked = performance.now();
    await turn();
    const waited = performance.now() - asked > 20;
    return fetch(input, waited && init?.signal ? { ...init, signal: AbortSignal.timeout(timeoutMs) } : init);
  };

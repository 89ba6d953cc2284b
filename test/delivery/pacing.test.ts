/**
 * Pacing: however many senders take turns at once, on either lane, no window of a second ever holds more calls
 * than the provider allows, every call eventually goes, and replies find a turn within one interval while a
 * campaign uses the whole rate. Checked with a virtual clock (many senders, no real time), then once against
 * the real store on the local DynamoDB engine, in real time.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDeliveryStore } from '../../adapters/aws/store/delivery.ts';
import { DynamoTable } from '../../adapters/aws/store/table.ts';
import type { DeliveryStore } from '../../domain/delivery/ports.ts';
import {
  admit,
  holdBack,
  pacedFetch,
  penalized,
  reserveOf,
  takeTurn,
  PacingWaitError,
  type Lane,
  type PacingDeps,
  type PacingState,
  type Rate,
} from '../../domain/delivery/pacing.ts';
import { ConflictError, NEW_RECORD, type Versioned } from '../../domain/shared/store.ts';
import { maxInWindow, VirtualClock } from '../helpers/fake-clock.ts';
import { startLocalDynamo, type LocalDynamoHarness } from '../helpers/local-dynamo.ts';

/**
 * Pacing state kept in memory with the store's versioned-write semantics, for the virtual-time property (the
 * local engine's I/O runs on real timers, which a virtual clock cannot step through).
 */
const memoryPacing = (): Pick<DeliveryStore, 'getPacing' | 'commit'> => {
  const states = new Map<string, Versioned<PacingState>>();
  return {
    getPacing: async (key) => states.get(key),
    commit: async (writes) => {
      for (const write of writes) {
        if (write.kind !== 'pacing' || write.op !== 'put') throw new Error('only pacing');
        const current = states.get(write.value.key);
        if ((current?.version ?? NEW_RECORD) !== write.version) throw new ConflictError('pacing');
      }
      for (const write of writes) {
        if (write.kind === 'pacing' && write.op === 'put') states.set(write.value.key, { value: write.value, version: write.version + 1 });
      }
    },
  };
};

describe('the pacing rule', () => {
  it('lets a burst go at once, then one call per interval', () => {
    const rate: Rate = { perSecond: 10, burst: 3 };
    let tat: number | undefined;
    const times: number[] = [];
    for (let now = 0; times.length < 8; now += 1) {
      const verdict = admit(tat, now, rate, 'interactive');
      if (verdict.allowed) {
        tat = verdict.tat;
        times.push(now);
      }
    }
    expect(times).toEqual([0, 1, 2, 100, 200, 300, 400, 500]);
  });

  it('keeps a quarter of the burst for replies: a campaign stops short of it', () => {
    const rate: Rate = { perSecond: 10, burst: 8 };
    expect(reserveOf(rate)).toBe(2);
    let tat: number | undefined;
    let proactive = 0;
    while (true) {
      const verdict = admit(tat, 0, rate, 'proactive');
      if (!verdict.allowed) break;
      tat = verdict.tat;
      proactive++;
    }
    expect(proactive).toBe(6);
    // A reply still goes at once, twice.
    for (let i = 0; i < 2; i++) {
      const verdict = admit(tat, 0, rate, 'interactive');
      expect(verdict.allowed).toBe(true);
      if (verdict.allowed) tat = verdict.tat;
    }
    expect(admit(tat, 0, rate, 'interactive')).toEqual({ allowed: false, waitMs: 100 });
  });

  it("makes every sender wait out a provider's retry-after", () => {
    const rate: Rate = { perSecond: 25, burst: 5 };
    const tat = penalized(undefined, 1_000, 35, rate);
    expect(admit(tat, 1_000 + 34_999, rate, 'interactive').allowed).toBe(false);
    expect(admit(tat, 1_000 + 35_000, rate, 'interactive').allowed).toBe(true);
  });
});

interface Actor {
  readonly lane: Lane;
  readonly startMs: number;
  readonly gapsMs: readonly number[];
}

describe('pacing many senders (virtual time)', () => {
  it('never exceeds perSecond + burst - 1 calls in any second (so within a provider limit of perSecond + burst), and loses no call', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          perSecond: fc.integer({ min: 1, max: 60 }),
          burst: fc.integer({ min: 1, max: 12 }),
          actors: fc.array(
            fc.record({
              lane: fc.constantFrom<Lane>('interactive', 'proactive'),
              startMs: fc.integer({ min: 0, max: 3000 }),
              gapsMs: fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 25 }),
            }),
            { minLength: 1, maxLength: 8 },
          ),
        }),
        async ({ perSecond, burst, actors }) => {
          const clock = new VirtualClock(0);
          const deps: PacingDeps = { store: memoryPacing(), now: clock.now, sleep: clock.sleep };
          const rate: Rate = { perSecond, burst };
          const sent: number[] = [];
          const run = async (actor: Actor) => {
            await clock.sleep(actor.startMs);
            for (const gap of actor.gapsMs) {
              await takeTurn(deps, 'telegram#bot', rate, actor.lane, Number.POSITIVE_INFINITY);
              sent.push(clock.now());
              await clock.sleep(gap);
            }
          };
          await clock.run(Promise.all(actors.map(run)));
          expect(sent).toHaveLength(actors.reduce((n, a) => n + a.gapsMs.length, 0));
          // GCRA's bound for a second: the burst, then one call per interval after the first.
          expect(maxInWindow(sent, 1000)).toBeLessThanOrEqual(perSecond + burst - 1);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('finds a reply a turn within one interval while a campaign keeps the rate busy', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 50 }),
        fc.integer({ min: 2, max: 12 }),
        fc.array(fc.integer({ min: 0, max: 4000 }), { minLength: 1, maxLength: 15 }),
        async (perSecond, burst, replyGaps) => {
          const clock = new VirtualClock(0);
          const deps: PacingDeps = { store: memoryPacing(), now: clock.now, sleep: clock.sleep };
          const rate: Rate = { perSecond, burst };
          const interval = 1000 / perSecond;
          let campaignDone = false;
          const waits: number[] = [];
          // Four campaign senders that always have the next message ready.
          const campaign = async () => {
            while (!campaignDone) await takeTurn(deps, 'whatsapp#num', rate, 'proactive', Number.POSITIVE_INFINITY);
          };
          // Replies far enough apart that each is one reply, not a burst of them.
          const replies = async () => {
            await clock.sleep(500);
            for (const gap of replyGaps) {
              const asked = clock.now();
              await takeTurn(deps, 'whatsapp#num', rate, 'interactive', Number.POSITIVE_INFINITY);
              waits.push(clock.now() - asked);
              await clock.sleep(Math.max(gap, 2 * interval));
            }
            campaignDone = true;
          };
          await clock.run(Promise.all([campaign(), campaign(), campaign(), campaign(), replies()]));
          expect(Math.max(...waits)).toBeLessThanOrEqual(Math.ceil(interval) + 2);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('postpones instead of holding a sender longer than it may wait', async () => {
    const clock = new VirtualClock(0);
    const deps: PacingDeps = { store: memoryPacing(), now: clock.now, sleep: clock.sleep };
    const rate: Rate = { perSecond: 1, burst: 1 };
    await clock.run(takeTurn(deps, 'line#bot', rate, 'proactive', 0));
    const error = await clock.run(
      takeTurn(deps, 'line#bot', rate, 'proactive', 500).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(error).toBeInstanceOf(PacingWaitError);
    expect((error as PacingWaitError).retryAfterSeconds).toBe(1);
  });
});

describe("a provider's own wait, lost writes and the provider call's timeout", () => {
  it("holds every sender of the account back for the provider's wait, and never shortens a longer hold", async () => {
    const clock = new VirtualClock(0);
    const store = memoryPacing();
    const deps: PacingDeps = { store, now: clock.now, sleep: clock.sleep };
    const rate: Rate = { perSecond: 30, burst: 1 };
    await clock.run(holdBack(deps, 'telegram#bot', rate, 7));
    const error = await clock.run(
      takeTurn(deps, 'telegram#bot', rate, 'interactive', 5_000).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(error).toBeInstanceOf(PacingWaitError);
    expect((error as PacingWaitError).retryAfterSeconds).toBe(7);
    const held = await store.getPacing('telegram#bot');
    // A shorter wait reported later changes nothing (no write).
    await clock.run(holdBack(deps, 'telegram#bot', rate, 2));
    expect(await store.getPacing('telegram#bot')).toEqual(held);
    // After the wait, a turn goes at once.
    await clock.run(clock.sleep(7_000));
    await clock.run(takeTurn(deps, 'telegram#bot', rate, 'interactive', 0));
  });

  it('takes the turn again after losing a write to another sender, and gives up on an error that is not a conflict', async () => {
    const inner = memoryPacing();
    let failures = 1;
    const flaky: PacingDeps['store'] = {
      getPacing: (key) => inner.getPacing(key),
      commit: async (writes) => {
        if (failures > 0) {
          failures -= 1;
          throw new ConflictError('another sender took it');
        }
        return inner.commit(writes);
      },
    };
    const deps: PacingDeps = { store: flaky, now: () => 1_000, sleep: async () => {} };
    await takeTurn(deps, 'line#bot', { perSecond: 10, burst: 2 }, 'interactive', 0);
    expect((await inner.getPacing('line#bot'))?.value.tat).toBe(1_100);

    const broken: PacingDeps = { ...deps, store: { ...flaky, commit: async () => Promise.reject(new Error('table unavailable')) } };
    await expect(takeTurn(broken, 'line#other', { perSecond: 10, burst: 2 }, 'interactive', 0)).rejects.toThrow('table unavailable');
    const hopeless: PacingDeps = { ...deps, store: { ...flaky, commit: async () => Promise.reject(new ConflictError('always')) } };
    await expect(takeTurn(hopeless, 'line#third', { perSecond: 10, burst: 2 }, 'interactive', 0)).rejects.toBeInstanceOf(ConflictError);
  });

  it("gives a call that waited for its turn the provider call's whole timeout again, and leaves one that did not as it was", async () => {
    const seen: (AbortSignal | null | undefined)[] = [];
    const fetch = (async (_input: unknown, init?: RequestInit) => {
      seen.push(init?.signal);
      return new Response('ok');
    }) as typeof globalThis.fetch;
    const original = AbortSignal.timeout(60_000);
    await pacedFetch(fetch, async () => {})('https://api.test/', { signal: original });
    await pacedFetch(fetch, () => new Promise((resolve) => setTimeout(resolve, 40)), 5_000)('https://api.test/', { signal: original });
    await pacedFetch(fetch, () => new Promise((resolve) => setTimeout(resolve, 40)))('https://api.test/');
    expect(seen[0]).toBe(original);
    expect(seen[1]).not.toBe(original);
    expect(seen[1]).toBeInstanceOf(AbortSignal);
    expect(seen[2]).toBeUndefined();
  });
});

describe('pacing on the local DynamoDB engine (real time)', () => {
  let harness: LocalDynamoHarness;
  let store: DynamoDeliveryStore;
  beforeAll(async () => {
    harness = await startLocalDynamo();
    store = new DynamoDeliveryStore(new DynamoTable({ client: harness.client, tableName: harness.tableName }));
  });
  afterAll(async () => harness?.stop());

  it("reads the turn once per call when one process's sends of a lane take turns at once (no lost writes to read again)", async () => {
    let reads = 0;
    let writes = 0;
    const counting: PacingDeps['store'] = {
      getPacing: (key) => {
        reads += 1;
        return store.getPacing(key);
      },
      commit: (changes) => {
        writes += 1;
        return store.commit(changes);
      },
    };
    const deps: PacingDeps = { store: counting, now: Date.now, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };
    // A batch of ten conversations sent at once, within the burst: nobody has to wait for the rate.
    await Promise.all(
      Array.from({ length: 10 }, () => takeTurn(deps, 'whatsapp#once', { perSecond: 80, burst: 20 }, 'interactive', 2_000)),
    );
    expect({ reads, writes }).toEqual({ reads: 10, writes: 10 });
    const state = await store.getPacing('whatsapp#once');
    expect(state?.version).toBe(10);
  });

  it('keeps six concurrent senders within 20 calls/s + a burst of 4, through versioned writes', async () => {
    const rate: Rate = { perSecond: 20, burst: 4 };
    const deps: PacingDeps = { store, now: Date.now, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };
    const times: number[] = [];
    const sender = async (lane: Lane) => {
      for (let i = 0; i < 8; i++) {
        await takeTurn(deps, 'telegram#real', rate, lane, 10_000);
        times.push(Date.now());
      }
    };
    await Promise.all(
      ['interactive', 'proactive', 'proactive', 'interactive', 'proactive', 'proactive'].map((lane) => sender(lane as Lane)),
    );
    expect(times).toHaveLength(48);
    // Timestamps are taken after the turn's write returned: allow the write's own latency at the edges.
    expect(maxInWindow(times, 950)).toBeLessThanOrEqual(rate.perSecond + rate.burst);
    const span = Math.max(...times) - Math.min(...times);
    expect(span).toBeGreaterThanOrEqual(((48 - rate.burst) / rate.perSecond) * 1000 - 100);
  });
});

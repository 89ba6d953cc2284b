/**
 * The conformance suite every channel connector passes, over its own fixture folder: handshake, signature,
 * fixtures to expected events, event validity and determinism, batches, property-based robustness, and the
 * real webhook path (`domain/ingest.ts`) with an in-memory bus.
 *
 * Adding a channel takes two files beside its other tests:
 *
 * ```ts
 * // test/connectors/<channel>/<channel>.kit.ts
 * export const kit: ConformanceKit = { connector, credentials, fixturesDir, sign, signsBody, ... };
 *
 * // test/connectors/<channel>/<channel>.conformance.test.ts
 * import { runConformanceSuite } from '../conformance.ts';
 * import { kit } from './<channel>.kit.ts';
 *
 * runConformanceSuite(kit);
 * ```
 *
 * Fixture folder: each `<scenario>.json` (or `.txt` for a body that is not JSON) is a webhook body exactly as
 * the provider sends it. Beside it, `<scenario>.expected.json` holds either `{ "events": [...], "ignored":
 * [...] }` (the exact normalize result under {@link ConformanceKit.context}) or `{ "parse": { "kind":
 * "malformed" | "ignored", "reason": "..." } }` for a body parse refuses. Bodies without an expected file
 * still go through the signature and robustness tests.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { LocalSecretStore } from '../../adapters/local/local-secrets.ts';
import { AccountResolver } from '../../domain/accounts.ts';
import type { Connector, Credentials, NormalizeContext, WebhookAnswer, WebhookRequest } from '../../domain/connector.ts';
import { ParleyEventSchema, type ParleyEvent } from '../../domain/events.ts';
import { DEFAULT_ACCOUNT, ingestWebhook } from '../../domain/ingest.ts';
import type { EventBus } from '../../domain/ports.ts';
import { createLocalLog } from '../../runtime/local-log.ts';

/** What a channel hands the suite: its connector, test credentials, fixtures and how to sign a body. */
export interface ConformanceKit {
  readonly connector: Connector;
  /** Test values for every inbound (and ideally outbound) credential name. */
  readonly credentials: Credentials;
  /** The channel's fixture folder, e.g. `new URL('../../fixtures/line/', import.meta.url)`. */
  readonly fixturesDir: URL;
  /** Headers that make a request with this body verify under these credentials (any header-name case). */
  sign(rawBody: Buffer, credentials: Credentials): Record<string, string>;
  /** A verification handshake (Meta's GET): a request that must be answered with `expectedBody`. */
  readonly handshake?: {
    readonly valid: Omit<WebhookRequest, 'rawBody'>;
    readonly expectedBody: string;
    /**
     * The same handshake with a wrong token. Default: `valid` with every query value that equals a
     * credential replaced by a wrong one.
     */
    readonly invalid?: Omit<WebhookRequest, 'rawBody'>;
  };
  /**
   * True when the signature covers the body (an HMAC, as LINE and Meta), false when the provider sends a
   * shared secret in a header (Telegram, Kakao): only a body signature can catch an altered or re-serialized
   * body. Default true.
   */
  readonly signsBody?: boolean;
  /**
   * True when the payload carries the provider's ids, so the same body delivered again later yields the same
   * event ids. False for a provider whose payload has no message id or time (Kakao): the connector then has
   * only the receipt time to tell two identical messages apart, and the suite asks only that normalizing one
   * delivery twice agrees. Default true.
   */
  readonly idsFromPayload?: boolean;
  /** A payload carrying `n` events, each normalizing to one event. Absent when the provider sends one per request. */
  readonly batch?: (n: number) => Buffer;
  /**
   * The context the expected files were written under; also the account the webhook path is called for.
   * Default: the account the credentials name (else `default`) and {@link DEFAULT_RECEIVED_AT}.
   */
  readonly context?: NormalizeContext;
  /** A body that is not what the provider sends at all. Default: truncated JSON. */
  readonly malformedBody?: Buffer;
  /**
   * What the webhook path answers for {@link malformedBody}: 400 by default; 200 (dropped) for a provider
   * that would retry a 4xx for a day, whose parse answers `ignored`.
   */
  readonly malformedStatus?: 400 | 200;
  /**
   * A stand-in for the provider's API, for connectors that ask it which account credentials belong to
   * ({@link Connector.resolveAccountId}: LINE's bot info). Without it any such call fails the test.
   */
  readonly providerApi?: typeof globalThis.fetch;
  /**
   * Another account of the channel, for connectors whose bodies name the account (a phone number id, a
   * Page, a bot): its id, its own credentials (another secret), and how to make a fixture body name it
   * instead of the kit's account (undefined for a body that names no account).
   */
  /**
   * Credentials of another account served by the same secret (a second phone number or Page of one Meta app,
   * which Meta posts to the one callback URL), for bodies that carry several accounts' events: the suite
   * registers each with them, as the integrator would.
   */
  sameAppAccount?(accountId: string): Credentials;
  readonly otherAccount?: {
    readonly accountId: string;
    readonly credentials: Credentials;
    naming(json: unknown, accountId: string): unknown;
  };
}

export const DEFAULT_RECEIVED_AT = '2026-03-14T01:00:00.000Z';

/** Per property: enough to find the shallow bugs fast, small enough to keep six channels under seconds. */
const NUM_RUNS = 150;
const MAX_BODY_BYTES = 256 * 1024;

const ParseExpectedSchema = z.strictObject({
  parse: z.strictObject({ kind: z.enum(['malformed', 'ignored']), reason: z.string() }),
});
const EventsExpectedSchema = z.strictObject({ events: z.array(z.unknown()), ignored: z.array(z.string()).optional() });
type Expected = z.infer<typeof ParseExpectedSchema> | z.infer<typeof EventsExpectedSchema>;

interface Fixture {
  readonly name: string;
  readonly file: string;
  readonly body: Buffer;
  /** The parsed body, or undefined for a body that is not JSON. */
  readonly json: unknown;
  readonly expected?: Expected;
}

const NOT_JSON = Symbol('not JSON');

const tryJson = (body: Buffer): unknown => {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return NOT_JSON;
  }
};

const readExpected = (file: URL): Expected => {
  const json: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const schema = json !== null && typeof json === 'object' && 'parse' in json ? ParseExpectedSchema : EventsExpectedSchema;
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new Error(`${file.pathname}: not an expected file: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
};

const loadFixtures = (dir: URL): Fixture[] => {
  const files = readdirSync(dir).sort();
  return files
    .filter((file) => !file.endsWith('.expected.json') && /\.(json|txt)$/.test(file))
    .map((file) => {
      const name = file.replace(/\.(json|txt)$/, '');
      const body = readFileSync(new URL(file, dir));
      const json = tryJson(body);
      const expectedFile = `${name}.expected.json`;
      const expected = files.includes(expectedFile) ? readExpected(new URL(expectedFile, dir)) : undefined;
      return { name, file, body, json: json === NOT_JSON ? undefined : json, ...(expected && { expected }) };
    });
};

/** Header names as the HTTP layer hands them to a connector: lower-cased. */
const lowerCased = (headers: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));

/** The same string with its last character changed to another of the same class, so formats still hold. */
const altered = (value: string): string => {
  if (value === '') return 'x';
  const last = value.at(-1)!;
  const next = /[0-9]/.test(last)
    ? String((Number(last) + 1) % 10)
    : /[a-y]/i.test(last)
      ? String.fromCharCode(last.charCodeAt(0) + 1)
      : /[zZ]/.test(last)
        ? 'a'
        : 'x';
  return `${value.slice(0, -1)}${next}`;
};

const alteredCredentials = (credentials: Credentials): Credentials =>
  Object.fromEntries(Object.entries(credentials).map(([name, value]) => [name, altered(value)]));

/** Drops the whitespace between JSON tokens and keeps every string byte-exact, escapes included. */
const minifyKeepingEscapes = (text: string): string => {
  let out = '';
  let inString = false;
  let escaped = false;
  for (const char of text) {
    if (inString) {
      out += char;
      if (escaped) escaped = false;
      else if (char === '\\') escaped = true;
      else if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
      out += char;
    } else if (!' \t\n\r'.includes(char)) out += char;
  }
  return out;
};

/** Checks one event against the schema; comparing with the input also catches keys the schema would strip. */
const expectValidEvent = (event: ParleyEvent, where: string): void => {
  const result = ParleyEventSchema.safeParse(event);
  expect(result.success, `${where}: invalid ${event?.type} event ${JSON.stringify(event)}\n${result.error?.message ?? ''}`).toBe(true);
  expect(result.data, `${where}: schema strips or changes keys`).toStrictEqual(event);
};

type Mutation = { readonly op: 'delete' | 'replace'; readonly pick: number; readonly value: unknown };

/** Every (container, key) below the root, depth first. */
const slots = (root: unknown): Array<[Record<string, unknown> | unknown[], string | number]> => {
  const found: Array<[Record<string, unknown> | unknown[], string | number]> = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach((child, index) => {
        found.push([node, index]);
        walk(child);
      });
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        found.push([node as Record<string, unknown>, key]);
        walk(child);
      }
    }
  };
  walk(root);
  return found;
};

const mutate = (json: unknown, mutations: readonly Mutation[]): unknown => {
  const copy = structuredClone(json);
  for (const { op, pick, value } of mutations) {
    const all = slots(copy);
    if (all.length === 0) break;
    const [container, key] = all[pick % all.length]!;
    if (op === 'replace') (container as Record<string | number, unknown>)[key] = value;
    else if (Array.isArray(container)) container.splice(key as number, 1);
    else delete container[key as string];
  }
  return copy;
};

/** Values that most often slip through a connector: empty, blank, zero, negative, fractional, huge, wrong type. */
const EDGE_VALUES: readonly unknown[] = ['', ' ', '0', 0, -1, 1.5, 1e21, null, true, [], {}];

/** Random JSON, with the edge values (and a NUL, a long string) far more often than chance would give them. */
const jsonValues = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(...EDGE_VALUES, -1e21, '\u0000', 'x'.repeat(5000)) },
);

/** Header values of every kind a client can send: printable, any Unicode, and signature-shaped. */
const headerValues = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.base64String({ maxLength: 64 }),
  fc.base64String({ maxLength: 64 }).map((value) => `sha256=${value}`),
);

/** Declares `<channel> conformance` for one connector. */
export const runConformanceSuite = (kit: ConformanceKit): void => {
  const { connector, credentials } = kit;
  const channel = connector.channel;
  const signsBody = kit.signsBody ?? true;
  const context: NormalizeContext = kit.context ?? {
    accountId: connector.accountIdOf(credentials) ?? DEFAULT_ACCOUNT,
    receivedAt: DEFAULT_RECEIVED_AT,
  };
  const fixtures = loadFixtures(kit.fixturesDir);
  const scenarios = fixtures.filter((f): f is Fixture & { expected: Expected } => f.expected !== undefined);
  const jsonFixtures = fixtures.filter((f) => f.json !== undefined);
  const okFixtures = jsonFixtures.filter((f) => connector.parse(f.body).kind === 'ok');

  const post = (rawBody: Buffer, headers: Record<string, string>): WebhookRequest => ({
    method: 'POST',
    headers: lowerCased({ 'content-type': 'application/json', ...headers }),
    query: {},
    rawBody,
  });
  const signed = (rawBody: Buffer, signWith: Credentials = credentials): WebhookRequest => post(rawBody, kit.sign(rawBody, signWith));

  /** Parses a body that must be a payload; a fresh payload each call, so nothing is shared between runs. */
  const payloadOf = (body: Buffer, where: string): unknown => {
    const parsed = connector.parse(body);
    if (parsed.kind !== 'ok') throw new Error(`${where}: expected an ok parse, got ${parsed.kind}: ${parsed.reason}`);
    return parsed.payload;
  };

  /** Parse never throws and answers one of its three kinds; an ok payload normalizes to valid events only. */
  const expectRobust = (body: Buffer, where: string): void => {
    const parsed = connector.parse(body);
    expect(['ok', 'malformed', 'ignored'], where).toContain(parsed.kind);
    if (parsed.kind !== 'ok') {
      expect(typeof parsed.reason, where).toBe('string');
      return;
    }
    const result = connector.normalize(parsed.payload, context);
    expect(Array.isArray(result.events) && Array.isArray(result.ignored), where).toBe(true);
    for (const event of result.events) expectValidEvent(event, where);
  };

  const noProviderApi: typeof globalThis.fetch = async (input) => {
    throw new Error(`the ${channel} kit gives no providerApi, yet ${String(input)} was called`);
  };

  /**
   * The real webhook path on a bus that records what it is given, for the kit's account as the channel's
   * default account; or, with `registered`, for accounts registered with their own credentials (kept in a
   * temporary file, as the integrator API keeps them), the default account being `defaults`.
   */
  const webhook = (
    accountCredentials: Credentials = credentials,
    setup: { readonly defaults?: Credentials; readonly registered?: Readonly<Record<string, Credentials>> } = {},
  ) => {
    const published: ParleyEvent[] = [];
    const defaults = setup.defaults ?? accountCredentials;
    const named = connector.accountIdOf(defaults) ?? (setup.defaults === undefined ? context.accountId : undefined);
    let path: string | undefined;
    if (setup.registered !== undefined) {
      const dir = mkdtempSync(join(tmpdir(), `parley-conformance-${channel}-`));
      temporaryDirs.push(dir);
      path = join(dir, 'credentials.json');
      writeFileSync(path, JSON.stringify({ [channel]: setup.registered }), { mode: 0o600 });
    }
    const deps = {
      secrets: new LocalSecretStore({ [channel]: { credentials: defaults, ...(named !== undefined && { accountId: named }) } }, path),
      bus: { publish: async (events: readonly ParleyEvent[]) => void published.push(...events) } satisfies EventBus,
      clock: { now: () => new Date(context.receivedAt) },
      log: createLocalLog({ level: 'silent' }),
      accounts: new AccountResolver({ fetch: kit.providerApi ?? noProviderApi, apiBaseUrls: {} }),
    };
    const call = (request: WebhookRequest, maxBodyBytes = MAX_BODY_BYTES, accountId: string = context.accountId): Promise<WebhookAnswer> =>
      ingestWebhook(connector, request, { maxBodyBytes, accountId }, deps);
    /** The channel's own URL, `/webhooks/<channel>`, which names no account. */
    const callDefault = (request: WebhookRequest): Promise<WebhookAnswer> =>
      ingestWebhook(connector, request, { maxBodyBytes: MAX_BODY_BYTES }, deps);
    return { call, callDefault, published };
  };
  const temporaryDirs: string[] = [];
  afterAll(() => {
    for (const dir of temporaryDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  describe(`${channel} conformance`, () => {
    describe('kit', () => {
      it('has fixtures, at least one of them expecting events', () => {
        expect(fixtures.length).toBeGreaterThan(0);
        expect(scenarios.some((s) => 'events' in s.expected && s.expected.events.length > 0)).toBe(true);
      });

      it('has a body beside every expected file', () => {
        const bodies = new Set(fixtures.map((f) => f.name));
        const expectedFiles = readdirSync(kit.fixturesDir).filter((file) => file.endsWith('.expected.json'));
        expect(expectedFiles.filter((file) => !bodies.has(file.slice(0, -'.expected.json'.length)))).toEqual([]);
      });

      it('gives every inbound credential, and names the same account as its context', () => {
        for (const name of connector.credentialNames.inbound) expect(credentials[name], name).toBeTruthy();
        const named = connector.accountIdOf(credentials);
        if (named !== undefined) expect(context.accountId).toBe(named);
      });

      it('declares a handshake exactly when the connector answers one', () => {
        expect(kit.handshake !== undefined).toBe(connector.handshake !== undefined);
      });
    });

    describe.runIf(kit.handshake !== undefined)('handshake', () => {
      const handshake = kit.handshake!;
      const valid: WebhookRequest = { ...handshake?.valid, rawBody: Buffer.alloc(0) };
      const secretValues = new Set(Object.values(credentials));
      const invalid: WebhookRequest = {
        ...(handshake?.invalid ?? {
          ...handshake?.valid,
          query: Object.fromEntries(
            Object.entries(handshake?.valid.query ?? {}).map(([k, v]) => [k, v !== undefined && secretValues.has(v) ? altered(v) : v]),
          ),
        }),
        rawBody: Buffer.alloc(0),
      };
      const refused = (answer: WebhookAnswer | undefined): void => {
        if (answer === undefined) return;
        expect(answer.statusCode).toBeGreaterThanOrEqual(400);
        expect(answer.body).not.toBe(handshake.expectedBody);
      };

      it('answers the challenge to the right token', () => {
        const answer = connector.handshake?.(valid, credentials);
        expect(answer).toMatchObject({ statusCode: 200, body: handshake.expectedBody });
      });

      it('refuses a request carrying a wrong token', () => {
        expect(invalid, 'kit.handshake.invalid is needed: no query value of valid equals a credential').not.toEqual(valid);
        refused(connector.handshake?.(invalid, credentials));
      });

      it('refuses the right request when another token is configured', () => {
        refused(connector.handshake?.(valid, alteredCredentials(credentials)));
      });
    });

    describe('signature', () => {
      it.each(fixtures.map((f) => [f.file, f] as const))('%s verifies when signed', (_, fixture) => {
        expect(connector.verify(signed(fixture.body), credentials)).toBe(true);
      });

      it('verifies bodies signed with the development credentials', () => {
        const dev = connector.devCredentials();
        // A body naming the development account, where bodies name one (a Kakao bot id is checked).
        const devAccount = connector.accountIdOf(dev);
        const named = devAccount === undefined ? undefined : kit.otherAccount?.naming(structuredClone(fixtures[0]!.json), devAccount);
        const body = named === undefined ? fixtures[0]!.body : Buffer.from(JSON.stringify(named), 'utf8');
        expect(connector.verify(signed(body, dev), dev)).toBe(true);
        expect(connector.verify(signed(body, dev), credentials)).toBe(false);
      });

      it('refuses a request without signature headers, or with empty ones', () => {
        for (const fixture of fixtures) {
          expect(connector.verify(post(fixture.body, {}), credentials), fixture.file).toBe(false);
          const empty = Object.fromEntries(Object.keys(kit.sign(fixture.body, credentials)).map((name) => [name, '']));
          expect(connector.verify(post(fixture.body, empty), credentials), fixture.file).toBe(false);
        }
      });

      it('refuses a signature made with another secret, and a signature with one character changed', () => {
        for (const fixture of fixtures) {
          expect(connector.verify(signed(fixture.body, alteredCredentials(credentials)), credentials), fixture.file).toBe(false);
          const headers = kit.sign(fixture.body, credentials);
          const flipped = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, altered(value)]));
          expect(connector.verify(post(fixture.body, flipped), credentials), fixture.file).toBe(false);
        }
      });

      it('refuses everything when no credentials are configured', () => {
        for (const fixture of fixtures) expect(connector.verify(signed(fixture.body), {}), fixture.file).toBe(false);
      });

      it('answers false, never throws, for arbitrary signature header values', () => {
        const body = fixtures[0]!.body;
        const names = Object.keys(lowerCased(kit.sign(body, credentials)));
        fc.assert(
          fc.property(fc.array(headerValues, { minLength: names.length, maxLength: names.length }), (values) => {
            const headers = Object.fromEntries(names.map((name, i) => [name, values[i]!]));
            expect(connector.verify(post(body, headers), credentials)).toBe(false);
          }),
          { numRuns: NUM_RUNS },
        );
      });

      it.runIf(signsBody)('refuses a body altered by one byte', () => {
        const arbitrary = fc.record({
          fixture: fc.constantFrom(...fixtures),
          at: fc.nat(),
          xor: fc.integer({ min: 1, max: 255 }),
        });
        fc.assert(
          fc.property(arbitrary, ({ fixture, at, xor }) => {
            const headers = kit.sign(fixture.body, credentials);
            const body = Buffer.from(fixture.body);
            const index = at % body.length;
            body[index] = body[index]! ^ xor;
            expect(connector.verify(post(body, headers), credentials)).toBe(false);
          }),
          { numRuns: NUM_RUNS },
        );
      });

      // Providers escape non-ASCII (LINE and Meta send `\uD83D\uDE00`): a handler that parses and re-serializes
      // before verifying sees other bytes than were signed.
      const escaped = jsonFixtures.filter((f) => /\\u[0-9a-fA-F]{4}/.test(f.body.toString('utf8')));
      it.runIf(signsBody)('has a fixture with \\u escapes, as the provider sends them', () => {
        expect(
          escaped.map((f) => f.file),
          'add a fixture whose strings use \\uXXXX escapes like the provider',
        ).not.toEqual([]);
      });
      it.runIf(signsBody && escaped.length > 0).each(escaped.map((f) => [f.file, f] as const))(
        '%s re-serialized after parsing no longer verifies',
        (_, fixture) => {
          // Prepare: the body as the provider sends it (no whitespace, escapes kept), so only the escapes differ.
          const asSent = Buffer.from(minifyKeepingEscapes(fixture.body.toString('utf8')), 'utf8');
          const reserialized = Buffer.from(JSON.stringify(JSON.parse(asSent.toString('utf8'))), 'utf8');
          expect(JSON.parse(asSent.toString('utf8'))).toStrictEqual(fixture.json);
          expect(reserialized.equals(asSent), 'the escapes survive re-serialization: use non-ASCII ones').toBe(false);
          const headers = kit.sign(asSent, credentials);
          // Act + Assess
          expect(connector.verify(post(asSent, headers), credentials)).toBe(true);
          expect(connector.verify(post(reserialized, headers), credentials)).toBe(false);
        },
      );
    });

    describe('normalization', () => {
      it.each(scenarios.map((s) => [s.name, s] as const))('%s normalizes to exactly the expected events', (_, scenario) => {
        const parsed = connector.parse(scenario.body);
        if ('parse' in scenario.expected) {
          expect(parsed).toStrictEqual(scenario.expected.parse);
          return;
        }
        expect(parsed.kind, parsed.kind === 'ok' ? '' : parsed.reason).toBe('ok');
        if (parsed.kind !== 'ok') return;
        const result = connector.normalize(parsed.payload, context);
        expect(result).toStrictEqual({ events: scenario.expected.events, ignored: scenario.expected.ignored ?? [] });
      });

      it.each(okFixtures.map((f) => [f.file, f] as const))(
        '%s gives valid events of this channel, received when the context says',
        (_, fixture) => {
          const { events } = connector.normalize(payloadOf(fixture.body, fixture.file), context);
          for (const event of events) {
            expectValidEvent(event, fixture.file);
            expect(event.channel).toBe(channel);
            expect(event.receivedAt).toBe(context.receivedAt);
          }
        },
      );

      const idsFromPayload = kit.idsFromPayload ?? true;
      it.each(okFixtures.map((f) => [f.file, f] as const))(
        idsFromPayload
          ? '%s gives unique event ids, the same ones when delivered again later'
          : '%s gives unique event ids, the same ones when normalized again',
        (_, fixture) => {
          const first = connector.normalize(payloadOf(fixture.body, fixture.file), context);
          const later = idsFromPayload
            ? { ...context, receivedAt: new Date(Date.parse(context.receivedAt) + 3_600_000).toISOString() }
            : context;
          const again = connector.normalize(payloadOf(fixture.body, fixture.file), later);
          const ids = first.events.map((e) => e.eventId);
          expect(new Set(ids).size).toBe(ids.length);
          expect(again.events.map((e) => e.eventId)).toEqual(ids);
          // Only the receipt time may differ, and occurredAt where the provider gives no time and it falls back to it.
          const received = (events: readonly ParleyEvent[], at: string) =>
            events.map((e) => ({ ...e, receivedAt: 'R', occurredAt: e.occurredAt === at ? 'R' : e.occurredAt }));
          expect(received(again.events, later.receivedAt)).toStrictEqual(received(first.events, context.receivedAt));
        },
      );

      it.runIf(kit.batch !== undefined).each([1, 2, 7, 50])('a batch of %i events gives as many events', (n) => {
        const body = kit.batch!(n);
        expect(connector.verify(signed(body), credentials)).toBe(true);
        const { events } = connector.normalize(payloadOf(body, `batch(${n})`), context);
        expect(events).toHaveLength(n);
        expect(new Set(events.map((e) => e.eventId)).size).toBe(n);
        for (const event of events) expectValidEvent(event, `batch(${n})`);
      });
    });

    describe('robustness', () => {
      it('parses random bytes without throwing, and normalizes what it accepts', () => {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => expectRobust(Buffer.from(bytes), 'random bytes')),
          { numRuns: NUM_RUNS },
        );
      });

      it('parses random JSON without throwing, and normalizes what it accepts', () => {
        fc.assert(
          fc.property(jsonValues, (value) => expectRobust(Buffer.from(JSON.stringify(value) ?? 'null', 'utf8'), 'random JSON')),
          { numRuns: NUM_RUNS },
        );
      });

      const mutations = fc.array(
        fc.record({ op: fc.constantFrom('delete' as const, 'replace' as const), pick: fc.nat(), value: jsonValues }),
        { minLength: 1, maxLength: 3 },
      );
      // Systematic where random picks are thin: every key of every fixture, deleted or set to each edge value.
      it.each(okFixtures.map((f) => [f.file, f] as const))(
        '%s with any one key deleted or set to an edge value never throws nor gives an invalid event',
        (_, fixture) => {
          const count = slots(fixture.json).length;
          for (let pick = 0; pick < count; pick++) {
            expectRobust(
              Buffer.from(JSON.stringify(mutate(fixture.json, [{ op: 'delete', pick, value: null }])) ?? 'null'),
              `${fixture.file} without slot ${pick}`,
            );
            for (const value of EDGE_VALUES) {
              const body = Buffer.from(JSON.stringify(mutate(fixture.json, [{ op: 'replace', pick, value }])) ?? 'null', 'utf8');
              expectRobust(body, `${fixture.file} with slot ${pick} = ${JSON.stringify(value).slice(0, 20)}`);
            }
          }
        },
      );

      it.each(okFixtures.map((f) => [f.file, f] as const))(
        '%s with keys deleted or values replaced never throws nor gives an invalid event',
        (_, fixture) => {
          fc.assert(
            fc.property(mutations, (changes) => {
              const body = Buffer.from(JSON.stringify(mutate(fixture.json, changes)) ?? 'null', 'utf8');
              expectRobust(body, `${fixture.file} mutated`);
            }),
            { numRuns: 100 },
          );
        },
      );
    });

    /** The accounts other than the kit's that events name, each registered with credentials from `credentialsOf`. */
    const othersOf = (events: readonly unknown[], credentialsOf: (accountId: string) => Credentials): Record<string, Credentials> => {
      const ids = new Set(events.map((e) => (e as ParleyEvent).accountId).filter((id) => id !== context.accountId));
      return Object.fromEntries([...ids].map((id) => [id, credentialsOf(id)]));
    };
    /** The same account's credentials under another secret: another app's. */
    const alteredSecrets = (of: Credentials): Credentials => ({
      ...of,
      ...Object.fromEntries(connector.credentialNames.inbound.map((name) => [name, altered(of[name] ?? '')])),
    });
    const sameApp = (accountId: string): Credentials => {
      if (!kit.sameAppAccount) throw new Error(`a fixture names account ${accountId}: give the ${channel} kit sameAppAccount`);
      return kit.sameAppAccount(accountId);
    };

    describe('webhook path', () => {
      it.each(scenarios.map((s) => [s.name, s] as const))('%s signed: answered and published as expected', async (_, scenario) => {
        // Every other account the body names is registered with the same secret, as several numbers of one app are.
        const registered = othersOf('events' in scenario.expected ? scenario.expected.events : [], sameApp);
        const { call, published } = webhook(credentials, Object.keys(registered).length > 0 ? { registered } : {});
        const answer = await call(signed(scenario.body));
        if ('parse' in scenario.expected) {
          const status = scenario.expected.parse.kind === 'malformed' ? 400 : 200;
          expect(answer.statusCode).toBe(status);
        } else {
          expect(answer.statusCode).toBe(200);
        }
        const events = 'events' in scenario.expected ? scenario.expected.events : [];
        expect(published).toStrictEqual(events);
      });

      it('refuses a wrong or missing signature with 401 and publishes nothing', async () => {
        const { call, published } = webhook();
        for (const fixture of fixtures) {
          expect((await call(signed(fixture.body, alteredCredentials(credentials)))).statusCode, fixture.file).toBe(401);
          expect((await call(post(fixture.body, {}))).statusCode, fixture.file).toBe(401);
        }
        expect(published).toEqual([]);
      });

      it(`answers a malformed body with ${kit.malformedStatus ?? 400} and publishes nothing`, async () => {
        const { call, published } = webhook();
        const body = kit.malformedBody ?? Buffer.from('{"truncated":', 'utf8');
        expect((await call(signed(body))).statusCode).toBe(kit.malformedStatus ?? 400);
        expect(published).toEqual([]);
      });

      it('answers a body over the limit with 413 and publishes nothing', async () => {
        const { call, published } = webhook();
        const fixture = okFixtures[0] ?? fixtures[0]!;
        expect((await call(signed(fixture.body), fixture.body.length - 1)).statusCode).toBe(413);
        expect(published).toEqual([]);
        expect((await call(signed(fixture.body), fixture.body.length)).statusCode).not.toBe(413);
      });

      it.runIf(kit.handshake !== undefined)('answers the handshake through the webhook path', async () => {
        const request: WebhookRequest = { ...kit.handshake!.valid, rawBody: Buffer.alloc(0) };
        const answer = await webhook().call(request);
        expect(answer).toMatchObject({ statusCode: 200, body: kit.handshake!.expectedBody });
        const refused = await webhook(alteredCredentials(credentials)).call(request);
        expect(refused.statusCode).toBeGreaterThanOrEqual(400);
      });

      it('never answers 200 to a GET that is no valid handshake, and publishes nothing', async () => {
        const { call, published } = webhook();
        const answer = await call({ method: 'GET', headers: {}, query: {}, rawBody: Buffer.alloc(0) });
        expect(answer.statusCode).toBeGreaterThanOrEqual(400);
        expect(published).toEqual([]);
      });

      it.runIf(kit.batch !== undefined)('publishes every event of a batch', async () => {
        const body = kit.batch!(5);
        const registered = othersOf(connector.normalize(payloadOf(body, 'batch(5)'), context).events, sameApp);
        const { call, published } = webhook(credentials, Object.keys(registered).length > 0 ? { registered } : {});
        expect((await call(signed(body))).statusCode).toBe(200);
        expect(published).toHaveLength(5);
      });

      const severalAccounts = scenarios.filter(
        (s) => 'events' in s.expected && Object.keys(othersOf(s.expected.events, () => ({}))).length > 0,
      );
      it.each(severalAccounts.map((s) => [s.name, s] as const))(
        '%s: the events of an account whose own credentials do not verify the body are dropped, the rest published',
        async (_, scenario) => {
          // Prepare: the other accounts registered with another secret (another app), or not at all.
          const expected = 'events' in scenario.expected ? (scenario.expected.events as ParleyEvent[]) : [];
          const mine = expected.filter((e) => e.accountId === context.accountId);
          const otherApp = webhook(credentials, { registered: othersOf(expected, (id) => alteredSecrets(sameApp(id))) });
          const unregistered = webhook();
          // Act + Assess
          expect((await otherApp.call(signed(scenario.body))).statusCode).toBe(200);
          expect(otherApp.published).toStrictEqual(mine);
          expect((await unregistered.call(signed(scenario.body))).statusCode).toBe(200);
          expect(unregistered.published).toStrictEqual(mine);
        },
      );

      it('answers a request for an account nobody registered exactly as a wrong signature', async () => {
        const { call, published } = webhook();
        const body = (okFixtures[0] ?? fixtures[0]!).body;
        // Act
        const wrong = await call(signed(body, alteredCredentials(credentials)));
        const unknown = await call(signed(body), MAX_BODY_BYTES, 'made-up-account.1');
        const malformedId = await call(signed(body), MAX_BODY_BYTES, 'no/such account');
        // Assess
        expect(wrong.statusCode).toBe(401);
        expect(unknown).toStrictEqual(wrong);
        expect(malformedId).toStrictEqual(wrong);
        expect(published).toEqual([]);
      });

      it.runIf(kit.handshake !== undefined)('answers a handshake for an account nobody registered exactly as a wrong token', async () => {
        const { call } = webhook(credentials, { registered: { [context.accountId]: credentials } });
        const request: WebhookRequest = { ...kit.handshake!.valid, rawBody: Buffer.alloc(0) };
        const answered = await call(request);
        expect(answered).toMatchObject({ statusCode: 200, body: kit.handshake!.expectedBody });
        const wrongToken = await webhook(alteredCredentials(credentials), {
          registered: { [context.accountId]: alteredCredentials(credentials) },
        }).call(request);
        expect(wrongToken.statusCode).toBeGreaterThanOrEqual(400);
        expect(await call(request, MAX_BODY_BYTES, 'made-up-account.1')).toStrictEqual(wrongToken);
      });

      const other = kit.otherAccount;
      const naming = scenarios
        .filter((s) => 'events' in s.expected && s.expected.events.length > 0)
        .flatMap((s) => {
          const renamed = other?.naming(structuredClone(s.json), other.accountId);
          return renamed === undefined ? [] : [[s.name, Buffer.from(JSON.stringify(renamed), 'utf8')] as const];
        });
      it.runIf(other !== undefined)('has fixtures that name an account', () => {
        expect(naming.length).toBeGreaterThan(0);
      });
      describe.runIf(other !== undefined && naming.length > 0)('a correctly signed body naming another account yields no event', () => {
        // At the kit account's own URL and at the channel's URL, the kit account being the default one.
        it.each(naming)('%s, naming an account nobody registered', async (_, body) => {
          const { call, callDefault, published } = webhook();
          expect((await call(signed(body))).statusCode).toBeLessThan(500);
          expect((await callDefault(signed(body))).statusCode).toBeLessThan(500);
          expect(published).toEqual([]);
        });

        it.each(naming)('%s, naming an account registered with credentials of its own', async (_, body) => {
          const { call, callDefault, published } = webhook(credentials, { registered: { [other!.accountId]: other!.credentials } });
          expect((await call(signed(body))).statusCode).toBeLessThan(500);
          expect((await callDefault(signed(body))).statusCode).toBeLessThan(500);
          expect(published).toEqual([]);
        });

        it.each(naming)('%s, naming the default account, sent to a registered account', async (_, body) => {
          const { call, published } = webhook(credentials, {
            defaults: other!.credentials,
            registered: { [context.accountId]: credentials },
          });
          expect((await call(signed(body))).statusCode).toBeLessThan(500);
          expect(published).toEqual([]);
        });

        it.each(naming)('%s, signed by the account it names, yields its events', async (_, body) => {
          // The same body and setup, signed by the other account's credentials: the check is about who signed.
          const { call, published } = webhook(credentials, { registered: { [other!.accountId]: other!.credentials } });
          expect((await call(signed(body, other!.credentials), MAX_BODY_BYTES, other!.accountId)).statusCode).toBe(200);
          expect(published.length).toBeGreaterThan(0);
          expect(published.every((e) => e.accountId === other!.accountId)).toBe(true);
        });
      });

      it('answers random signed bodies with 200 or 400, never throwing, publishing nothing', async () => {
        const bodies = fc.oneof(
          fc.uint8Array({ maxLength: 1024 }).map((bytes) => Buffer.from(bytes)),
          jsonValues.map((value) => Buffer.from(JSON.stringify(value) ?? 'null', 'utf8')),
        );
        await fc.assert(
          fc.asyncProperty(bodies, async (body) => {
            const { call, published } = webhook();
            const answer = await call(signed(body));
            expect([200, 400]).toContain(answer.statusCode);
            expect(published).toEqual([]);
          }),
          { numRuns: NUM_RUNS },
        );
      });
    });
  });
};

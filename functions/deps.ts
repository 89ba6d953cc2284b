/**
 * Everything a handler may need from outside, as ports. Each handler's `create` takes the part it uses;
 * `adapters/aws/deps.ts` builds it for Lambda and `runtime/` builds it for the local runtime and tests.
 */
import type { Channel } from '../domain/content.ts';
import type { Clock, EventBus, Log, MediaStore, OutboundJob, SecretStore, ThreadStore, WorkQueue } from '../domain/ports.ts';

/** Lets an SQS consumer postpone a message it failed (backoff, provider's retry-after). */
export interface VisibilityControl {
  setVisibilityTimeout(receiptHandle: string, seconds: number): Promise<void>;
}

export interface Deps {
  readonly store: ThreadStore;
  readonly bus: EventBus;
  readonly outbound: WorkQueue<OutboundJob>;
  readonly outboundVisibility: VisibilityControl;
  readonly secrets: SecretStore;
  /** Parley's media storage: S3 in AWS, the data dir locally. */
  readonly media: MediaStore;
  /** The media queue, whose messages the media copier postpones. */
  readonly mediaVisibility: VisibilityControl;
  readonly clock: Clock;
  readonly log: Log;
  readonly fetch: typeof globalThis.fetch;
  /** Overrides of each provider's API origin (tests, demos, sandboxes). */
  readonly apiBaseUrls: Partial<Record<Channel, string>>;
}

/** A function's environment variables: `process.env` in Lambda, the topology's values locally. */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * What every module under `functions/` exports: `create` wires the handler from ports and environment
 * (the local runtime calls it), and `handler` is the same wiring with AWS adapters and `process.env`.
 */
export interface FunctionModule {
  create(deps: Deps, environment: Environment): (event: never) => Promise<unknown>;
}

/**
 * A queue message's payload. Rules deliver only an event's `detail`, but an event EventBridge could not
 * deliver lands whole in the dead-letter queue, and a redrive brings it back like that.
 */
export const detailOf = (body: unknown): unknown =>
  typeof body === 'object' && body !== null && 'detail-type' in body && 'detail' in body ? (body as { detail: unknown }).detail : body;

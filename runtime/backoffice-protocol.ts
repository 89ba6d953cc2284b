/**
 * Messages between the local runtime's main thread (HTTP, webhooks, API, queues, the bus) and its back-office
 * worker thread (the DynamoDB engine, and the queue, stream and schedule consumers). Each side can call the
 * other and await the answer.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Worker } from 'node:worker_threads';
import type { Channel } from '../domain/content.ts';
import type { LocalAccount } from '../adapters/local/local-secrets.ts';
import type { QueueName, StreamTrigger } from '../topology/topology.ts';
import type { LogLevel } from './local-log.ts';

export interface BackofficeInit {
  /** Where the media copier stores media (`<dataDir>/media`), read by the API on the main thread. */
  readonly mediaPath: string;
  readonly accounts: Partial<Record<Channel, LocalAccount>>;
  /** Where further accounts' credentials are kept (written by the API on the main thread). */
  readonly credentialsPath: string;
  readonly apiBaseUrls: Partial<Record<Channel, string>>;
  readonly logLevel: LogLevel;
  readonly retentionDays?: number | undefined;
  /** Scales stream retry delays and schedules (tests run them in milliseconds). */
  readonly timeScale: number;
  readonly functions: readonly {
    readonly name: string;
    readonly entry: string;
    readonly timeoutSeconds: number;
    readonly environment: Readonly<Record<string, string>>;
    /** What runs it: a queue (whose messages it postpones), the table's stream, or a schedule. */
    readonly trigger:
      | { readonly kind: 'queue'; readonly queue: QueueName }
      | { readonly kind: 'stream'; readonly stream: StreamTrigger }
      | { readonly kind: 'schedule'; readonly everyMinutes: number };
  }[];
}

/** What the worker may ask the main thread to do for it (the ports that live there). */
export type MainCall =
  | { readonly op: 'bus.publish'; readonly args: [events: unknown[]] }
  | { readonly op: 'domainBus.publish'; readonly args: [events: unknown[]] }
  | { readonly op: 'outbound.send'; readonly args: [message: unknown, options?: { delaySeconds?: number }] }
  | { readonly op: 'queue.send'; readonly args: [queue: QueueName, message: unknown, options?: { delaySeconds?: number }] }
  | { readonly op: 'queue.setVisibilityTimeout'; readonly args: [queue: QueueName, receiptHandle: string, seconds: number] };

/** What the main thread may ask the worker to do. */
export type WorkerCall =
  | { readonly op: 'init'; readonly args: [BackofficeInit] }
  | { readonly op: 'invoke'; readonly args: [functionName: string, event: unknown] }
  /** Waits until the stream consumers have handled every record written so far; true when it had to wait. */
  | { readonly op: 'streams.idle'; readonly args: [] }
  | { readonly op: 'close'; readonly args: [] };

type Envelope =
  | { readonly kind: 'call'; readonly id: number; readonly call: unknown }
  | { readonly kind: 'reply'; readonly id: number; readonly value?: unknown; readonly error?: string }
  | { readonly kind: 'log'; readonly line: string }
  | { readonly kind: 'ready'; readonly dynamoPort: number }
  | { readonly kind: 'failed'; readonly error: string };

type Port = Pick<MessagePort | Worker, 'postMessage' | 'on'>;

/**
 * Request/answer over a worker port. `handle` serves the other side's calls; errors travel as messages
 * and are thrown again on the calling side.
 */
export const connect = <Out extends MainCall | WorkerCall, In extends MainCall | WorkerCall>(
  port: Port,
  handle: (call: In) => Promise<unknown>,
  extra: { onLog?: (line: string) => void; onReady?: (dynamoPort: number) => void; onFailed?: (error: string) => void } = {},
) => {
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  port.on('message', (message: Envelope) => {
    switch (message.kind) {
      case 'reply': {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        if (message.error !== undefined) waiter?.reject(new Error(message.error));
        else waiter?.resolve(message.value);
        break;
      }
      case 'call':
        handle(message.call as In).then(
          (value) => port.postMessage({ kind: 'reply', id: message.id, value } satisfies Envelope),
          (error: unknown) =>
            port.postMessage({
              kind: 'reply',
              id: message.id,
              error: error instanceof Error ? error.message : String(error),
            } satisfies Envelope),
        );
        break;
      case 'log':
        extra.onLog?.(message.line);
        break;
      case 'ready':
        extra.onReady?.(message.dynamoPort);
        break;
      case 'failed':
        extra.onFailed?.(message.error);
        break;
    }
  });
  return {
    call: <T = unknown>(call: Out): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        port.postMessage({ kind: 'call', id, call } satisfies Envelope);
      }),
    log: (line: string) => port.postMessage({ kind: 'log', line } satisfies Envelope),
    /** Fails every call still waiting for an answer (the other side is gone). */
    abandon: (error: Error) => {
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
    },
    ready: (dynamoPort: number) => port.postMessage({ kind: 'ready', dynamoPort } satisfies Envelope),
    /** The worker could not start (the data dir's database is held by another process, say). */
    failed: (error: string) => port.postMessage({ kind: 'failed', error } satisfies Envelope),
  };
};

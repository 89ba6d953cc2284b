/**
 * The thread lifecycle sweep, every minute: snoozed threads whose time has come open again, and, when
 * `AUTO_RESOLVE_AFTER_HOURS` is set, open and pending threads idle that long are resolved. Each change is a
 * `thread.updated` event like any other.
 */
import type { Context } from 'aws-lambda';
import { lifecycleChange } from '../domain/conversations/threads.ts';
import { freshEvent } from '../domain/events/outbox.ts';
import { systemClock } from '../domain/ports.ts';
import { retryOnConflict } from '../domain/shared/store.ts';
import { awsConversations } from '../adapters/aws/deps.ts';
import type { Deps, Environment } from './deps.ts';
import { lambda } from './kit/handler.ts';
import { awsObservability } from './kit/powertools.ts';

/** Threads changed per run at most; the next run takes the rest. */
const MAX_PER_RUN = 500;

export const create = (deps: Pick<Deps, 'conversations' | 'clock' | 'observability'>, environment: Environment) => {
  const raw = environment.AUTO_RESOLVE_AFTER_HOURS;
  const autoResolveAfterHours = raw === undefined || raw === '' ? undefined : Number(raw);
  if (autoResolveAfterHours !== undefined && !(autoResolveAfterHours > 0)) {
    throw new Error(`AUTO_RESOLVE_AFTER_HOURS must be a positive number of hours, but '${raw}' was given`);
  }
  const store = deps.conversations;
  const { log } = deps.observability;
  return lambda<unknown, { readonly woken: number; readonly resolved: number }>(async () => {
    const now = deps.clock.now().toISOString();
    let woken = 0;
    let resolved = 0;
    const sweep = async (statuses: ('snoozed' | 'open' | 'pending')[], updatedBefore?: string) => {
      let cursor: string | undefined;
      let seen = 0;
      do {
        const page = await store.listThreads({ statuses, limit: 100, ...(updatedBefore && { updatedBefore }), ...(cursor && { cursor }) });
        for (const listed of page.items) {
          const changed = await retryOnConflict(async () => {
            const thread = await store.getThread(listed.id);
            if (!thread) return undefined;
            const change = lifecycleChange(thread.value, now, autoResolveAfterHours);
            if (!change.changed) return undefined;
            await store.commit([
              {
                kind: 'thread',
                op: 'put',
                value: change.thread,
                version: thread.version,
                events: [freshEvent('thread.updated', now, { changes: change.changes })],
              },
            ]);
            return change.thread.status;
          });
          if (changed === 'open') woken += 1;
          if (changed === 'resolved') resolved += 1;
        }
        seen += page.items.length;
        cursor = page.nextCursor;
      } while (cursor !== undefined && seen < MAX_PER_RUN);
    };
    await sweep(['snoozed']);
    if (autoResolveAfterHours !== undefined) {
      await sweep(['open', 'pending'], new Date(Date.parse(now) - autoResolveAfterHours * 3_600_000).toISOString());
    }
    if (woken + resolved > 0) log.info('thread lifecycle', { woken, resolved });
    return { woken, resolved };
  }, deps.observability);
};

let wired: ReturnType<typeof create> | undefined;
export const handler = (event: unknown, context: Context) =>
  (wired ??= create({ conversations: awsConversations(), clock: systemClock, observability: awsObservability() }, process.env))(
    event,
    context,
  );

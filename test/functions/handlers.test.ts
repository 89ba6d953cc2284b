/**
 * Every Lambda function the topology deploys is a middy handler (functions/kit/handler.ts): whatever its
 * entry, the middlewares of its environment (Powertools' logger context, metrics flush, tracing in AWS) run
 * around it, before it touches anything.
 */
import type middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import { localContext } from '../../functions/kit/handler.ts';
import type { Observability } from '../../functions/kit/observability.ts';
import { environmentOf, FUNCTIONS, type FunctionSpec } from '../../topology/topology.ts';

/** Thrown by the test's middleware: reaching the caller, it proves the middleware ran before the handler. */
class MiddlewareRan extends Error {}

const entries = Object.entries(FUNCTIONS) as [string, FunctionSpec][];

describe('every function of the topology', () => {
  it.each(entries)('%s is a middy handler that runs its environment’s middlewares first', async (name, spec) => {
    const module = (await import(`../../${spec.entry}`)) as {
      create: (deps: unknown, env: Readonly<Record<string, string>>) => middy.MiddyfiedHandler<unknown, unknown>;
    };
    const order: string[] = [];
    const middleware: middy.MiddlewareObj = {
      before: () => {
        order.push('before');
        throw new MiddlewareRan(name);
      },
    };
    const observability: Observability = {
      log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
      metrics: { count: () => undefined, queueAge: () => undefined },
      middlewares: [middleware],
    };
    // Only what building the handler reads; the middleware stops the invocation before any other port is used.
    const handler = module.create({ observability, queue: () => ({ send: async () => undefined }) }, environmentOf(spec));

    expect(typeof handler.use).toBe('function');
    await expect(handler({}, localContext(name))).rejects.toBeInstanceOf(MiddlewareRan);
    expect(order).toEqual(['before']);
  });
});

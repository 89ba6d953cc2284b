/**
 * Every Lambda function the topology deploys is a middy handler (functions/kit/handler.ts): whatever its
 * entry, the middlewares of its environment (Powertools' logger context, metrics flush, tracing in AWS) run
 * around it, before it touches anything.
 */
import { fileURLToPath } from 'node:url';
import type middy from '@middy/core';
import { build } from 'esbuild';
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

describe('every Lambda bundle', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const entries = [...new Set(Object.values(FUNCTIONS).map((spec) => spec.entry))];

  // A provider sandbox answers replies as if sent, and development credentials are made-up secrets: neither
  // has any business in AWS. A connector's index carries both, so a function builds on the connector's parts.
  it('carries no development-only code: no provider sandbox, demo, or connector index with its dev credentials', async () => {
    const found: Record<string, string[]> = {};
    for (const entry of entries) {
      const result = await build({
        entryPoints: [`${root}${entry}`],
        absWorkingDir: root,
        bundle: true,
        write: false,
        metafile: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        external: ['@aws-sdk/*'],
        logLevel: 'silent',
      });
      const dev = Object.keys(result.metafile.inputs).filter((input) =>
        /^(runtime|scripts|bench)\/|sandbox|\.demo\.ts$|^connectors\/(demo|registry)\.ts$|^connectors\/[a-z]+\/index\.ts$/.test(input),
      );
      if (dev.length > 0) found[entry] = dev;
    }
    expect(found).toEqual({});
  }, 120_000);
});

/**
 * Every Lambda handler is a middy function: the handler itself is small and over ports, and the concerns
 * around it (Powertools' logger context, metrics flush and tracing) are named middlewares.
 * @see https://middy.js.org/docs/intro/how-it-works
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Observability } from './observability.ts';

export type Handler<E, R> = (event: E, context: Context) => Promise<R>;

/** The handler with the observability middlewares of its environment around it. */
export const lambda = <E, R>(handler: Handler<E, R>, observability: Pick<Observability, 'middlewares'>): middy.MiddyfiedHandler<E, R> =>
  middy<E, R>()
    .use([...observability.middlewares])
    .handler(handler);

/** A Lambda context for invocations outside Lambda (the local runtime, tests, benchmarks). */
export const localContext = (functionName: string, timeoutSeconds = 30): Context => {
  const started = Date.now();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, timeoutSeconds * 1000 - (Date.now() - started)),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};

/**
 * Observability in Lambda, from Powertools for AWS Lambda (TypeScript): structured JSON logs that carry the
 * invocation's context and each record's correlation ids, metrics as CloudWatch embedded metric format
 * (flushed after every invocation, cold starts counted), and X-Ray traces of the handler and of every AWS SDK
 * call. Which invocations are traced is X-Ray's sampling rule's decision (the stack sets one that samples a
 * few percent, so tracing does not cost on every invocation).
 * @see https://docs.powertools.aws.dev/lambda/typescript/latest/
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { lambdaTracer } from '../../adapters/aws/tracer.ts';
import type { Observability } from './observability.ts';

/** Namespace of every Parley metric in CloudWatch. */
export const METRICS_NAMESPACE = 'Parley';

let observability: Observability | undefined;
export const awsObservability = (): Observability => {
  if (observability) return observability;
  const logger = new Logger();
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    // Counts are published at once as single metrics, so the invocation's own set is usually empty: Powertools
    // would warn about it on every invocation (a log line billed each time). Its other warnings still go out.
    logger: {
      debug: (message: unknown) => logger.debug(String(message)),
      info: (message: unknown) => logger.info(String(message)),
      warn: (message: unknown) => {
        if (!String(message).startsWith('No application metrics to publish')) logger.warn(String(message));
      },
      error: (message: unknown) => logger.error(String(message)),
    },
  });
  const log: Observability['log'] = {
    debug: (message, extra) => logger.debug(message, ...(extra ? [extra] : [])),
    info: (message, extra) => logger.info(message, ...(extra ? [extra] : [])),
    warn: (message, extra) => logger.warn(message, ...(extra ? [extra] : [])),
    error: (message, extra) => logger.error(message, ...(extra ? [extra] : [])),
  };
  const tracer = lambdaTracer();
  const created: Observability = {
    log,
    metrics: {
      count: (name, channel, value = 1) => {
        // A metric of its own, so its channel dimension does not leak onto the invocation's other metrics.
        const single = metrics.singleMetric();
        if (channel !== undefined) single.addDimension('channel', channel);
        single.addMetric(name, MetricUnit.Count, value);
      },
      queueAge: (queue, milliseconds) => {
        const single = metrics.singleMetric();
        single.addDimension('queue', queue);
        single.addMetric('QueueAge', MetricUnit.Milliseconds, milliseconds);
      },
    },
    middlewares: [
      ...(tracer ? [captureLambdaHandler(tracer)] : []),
      injectLambdaContext(logger, { resetKeys: true }),
      logMetrics(metrics, { captureColdStartMetric: true }),
    ],
  };
  observability = created;
  return created;
};

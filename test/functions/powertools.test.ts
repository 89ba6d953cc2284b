/**
 * Observability in Lambda (functions/kit/powertools.ts), as CloudWatch reads it from a function's output:
 * Powertools' JSON log lines carrying the invocation's request id and the record's correlation ids, and
 * metrics in the embedded metric format, one series per channel and per queue.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { lambda, localContext } from '../../functions/kit/handler.ts';
import { withKeys } from '../../functions/kit/observability.ts';

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

/** Every JSON line the function wrote to stdout while `run` ran. */
const outputOf = async (run: () => Promise<unknown>): Promise<Record<string, unknown>[]> => {
  const written: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write);
  await run();
  vi.mocked(process.stdout.write).mockRestore();
  return written
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
};

describe('awsObservability', () => {
  it('logs JSON with the request id and correlation ids, and writes each count and queue age as EMF, by channel and queue', async () => {
    // The tests silence Powertools' logger; a function in Lambda logs at INFO.
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'parley-sender-telegram');
    const { awsObservability, METRICS_NAMESPACE } = await import('../../functions/kit/powertools.ts');
    const observability = awsObservability();
    const handler = lambda(async () => {
      withKeys(observability.log, { threadId: 'th_1', messageId: 'msg_1' }).info('outbound job handled', { outcome: 'sent' });
      observability.metrics.count('MessagesSent', 'telegram');
      observability.metrics.queueAge('outbound-telegram', 2500);
      return 'done';
    }, observability);
    const context = localContext('sender-telegram');

    const lines = await outputOf(() => handler({}, context));

    const logged = lines.find((line) => line['message'] === 'outbound job handled');
    expect(logged).toMatchObject({
      level: 'INFO',
      service: 'parley-sender-telegram',
      function_request_id: context.awsRequestId,
      threadId: 'th_1',
      messageId: 'msg_1',
      outcome: 'sent',
    });
    const emf = lines.filter((line) => line['_aws'] !== undefined);
    const sent = emf.find((line) => line['MessagesSent'] !== undefined);
    expect(sent).toMatchObject({ MessagesSent: 1, channel: 'telegram' });
    expect(sent?.['_aws']).toMatchObject({
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [expect.arrayContaining(['channel'])],
          Metrics: [{ Name: 'MessagesSent', Unit: 'Count' }],
        },
      ],
    });
    const age = emf.find((line) => line['QueueAge'] !== undefined);
    expect(age).toMatchObject({ QueueAge: 2500, queue: 'outbound-telegram' });
    expect(age?.['_aws']).toMatchObject({
      CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Metrics: [{ Name: 'QueueAge', Unit: 'Milliseconds' }] }],
    });
    // The channel dimension stays on its own series: the queue age is not split by channel.
    expect(age).not.toHaveProperty('channel');
  });

  it('writes no warning for an invocation that counted nothing (it would be a log line billed on every invocation)', async () => {
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
    const { awsObservability } = await import('../../functions/kit/powertools.ts');
    const observability = awsObservability();
    const handler = lambda(async () => 'quiet', observability);
    const written: string[] = [];
    const capture = ((chunk: string | Uint8Array) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof process.stdout.write;
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    await handler({}, localContext('thread-lifecycle'));
    await handler({}, localContext('thread-lifecycle'));
    vi.restoreAllMocks();
    expect(written.join('')).not.toContain('No application metrics');
  });
});

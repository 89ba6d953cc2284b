/**
 * The X-Ray tracer of a Lambda container (Powertools Tracer), shared by the AWS adapters, which trace every
 * SDK call they make, and by the handlers' tracing middleware.
 *
 * It is loaded only inside Lambda. Importing it turns on X-Ray's async-hook context for the whole process,
 * which makes every `await` several times dearer (two million awaits: 0.4 s before the import, 3.5 to 5 s
 * after, on the development machine), and outside Lambda Powertools traces nothing anyway. Elsewhere (the
 * local runtime, tests) SDK clients are left as they are.
 */
import type { Tracer } from '@aws-lambda-powertools/tracer';

/** What the AWS adapters ask of a tracer. */
export interface SdkTracer {
  captureAWSv3Client<T>(client: T): T;
}

const powertools = process.env.AWS_LAMBDA_FUNCTION_NAME === undefined ? undefined : await import('@aws-lambda-powertools/tracer');

let tracer: Tracer | undefined;
/** Powertools' tracer inside Lambda; undefined elsewhere, where nothing is traced. */
export const lambdaTracer = (): Tracer | undefined => (powertools ? (tracer ??= new powertools.Tracer()) : undefined);

const untraced: SdkTracer = { captureAWSv3Client: (client) => client };
export const awsTracer = (): SdkTracer => lambdaTracer() ?? untraced;

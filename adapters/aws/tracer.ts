/**
 * The X-Ray tracer of a Lambda container (Powertools Tracer), shared by the AWS adapters, which trace every
 * SDK call they make, and by the handlers' tracing middleware.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';

let tracer: Tracer | undefined;
export const awsTracer = (): Tracer => (tracer ??= new Tracer());

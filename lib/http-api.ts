/**
 * The one HTTP API in front of Parley: provider webhooks (verified by their connector), the integrator API
 * (`/v1`, behind a bearer-key Lambda authorizer) and its public OpenAPI document. Routes are rendered from
 * the topology.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { RouteSpec } from '../topology/topology.ts';
import { pascalCase } from './names.ts';

export interface ParleyHttpApiProps {
  /** Checks integrator bearer keys; runs before every route whose `auth` is `apiKey`. */
  readonly authorizer: lambda.IFunction;
  /**
   * How long API Gateway caches an authorizer answer per Authorization header. A revoked key keeps working
   * this long, so the default is short: in AWS a revoked key stops working within a minute. Each cached answer
   * saves one authorizer invocation (one GetItem) per request of that key; 0 turns the cache off.
   * @default Duration.minutes(1)
   */
  readonly authorizerCacheTtl?: Duration;
  /**
   * Default throttling of every route, in requests per second (steady) and in one burst.
   * @default { rateLimit: 200, burstLimit: 400 }
   */
  readonly throttle?: apigw.ThrottleSettings;
  /**
   * How long the access logs are kept.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly accessLogRetention?: logs.RetentionDays;
}

export interface AddRoutesOptions {
  /**
   * Why routes with `auth: 'none'` need no authorizer; recorded with the cdk-nag acknowledgement.
   * Required when any route has `auth: 'none'`.
   */
  readonly unauthenticatedReason?: string;
}

/**
 * JSON access log lines. The query string is left out on purpose: some providers can only pass their
 * shared secret as a query parameter (see contract.md, KakaoTalk).
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html
 */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    sourceIp: '$context.identity.sourceIp',
    userAgent: '$context.identity.userAgent',
    httpMethod: '$context.httpMethod',
    path: '$context.path',
    routeKey: '$context.routeKey',
    protocol: '$context.protocol',
    status: '$context.status',
    responseLength: '$context.responseLength',
    responseLatency: '$context.responseLatency',
    integrationStatus: '$context.integrationStatus',
    integrationLatency: '$context.integrationLatency',
    integrationError: '$context.integrationErrorMessage',
    authorizerError: '$context.authorizer.error',
  }),
);

export class ParleyHttpApi extends Construct {
  public readonly api: apigw.HttpApi;
  public readonly stage: apigw.HttpStage;
  public readonly accessLogs: logs.LogGroup;
  /** The API's base URL, ending in `/`. */
  public readonly url: string;

  private readonly apiKeyAuthorizer: HttpLambdaAuthorizer;

  constructor(scope: Construct, id: string, props: ParleyHttpApiProps) {
    super(scope, id);
    this.api = new apigw.HttpApi(this, 'Api', {
      description: 'Parley: provider webhooks and the integrator API',
      // The default stage cannot be given access logs; the stage below replaces it.
      createDefaultStage: false,
    });
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? logs.RetentionDays.THREE_MONTHS,
    });
    this.stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 200, burstLimit: 400 },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        format: ACCESS_LOG_FORMAT,
      },
    });
    this.url = this.stage.url;

    this.apiKeyAuthorizer = new HttpLambdaAuthorizer('ApiKeyAuthorizer', props.authorizer, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ['$request.header.Authorization'],
      resultsCacheTtl: props.authorizerCacheTtl ?? Duration.minutes(1),
    });
  }

  /** Routes `routes` to `handler`, with the authorizer in front of the `apiKey` ones. */
  public addRoutes(handler: lambda.IFunction, routes: readonly RouteSpec[], options: AddRoutesOptions = {}): apigw.HttpRoute[] {
    const integration = new HttpLambdaIntegration(`${handler.node.id}Integration`, handler);
    return routes.map((route) => {
      const httpRoute = new apigw.HttpRoute(this, `${route.method}${pascalCase(route.path)}`, {
        httpApi: this.api,
        routeKey: apigw.HttpRouteKey.with(route.path, apigw.HttpMethod[route.method]),
        integration,
        authorizer: route.auth === 'apiKey' ? this.apiKeyAuthorizer : new apigw.HttpNoneAuthorizer(),
      });
      if (route.auth === 'none') {
        if (options.unauthenticatedReason === undefined) {
          throw new Error(
            `Route ${route.method} ${route.path} has no authorizer, so it needs an unauthenticatedReason, but none was provided`,
          );
        }
        Validations.of(httpRoute).acknowledge({ id: 'AwsSolutions-APIG4', reason: options.unauthenticatedReason });
      }
      return httpRoute;
    });
  }
}

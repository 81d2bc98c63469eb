import { Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface ApiProps {
  readonly corsAllowedOrigins: readonly string[];
  /** '' = no custom domain. */
  readonly domainName: string;
  readonly certificateArn: string;
  /** The stage's default route throttling (stage settings apiThrottleRate / apiThrottleBurst). */
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
}

/** Fields of each JSON access log line of the HTTP API. */
const ACCESS_LOG_FORMAT = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  userAgent: '$context.identity.userAgent',
} as const;

/**
 * The HTTP API. Created before the functions, because every function's API_EXTERNAL_URL names it;
 * the ANY /{proxy+} route to ApiFunction is added afterwards with `routeToApiFunction`.
 */
export class Api extends Construct {
  public readonly httpApi: apigwv2.HttpApi;
  public readonly defaultStage: apigwv2.HttpStage;
  public readonly accessLogGroup: logs.LogGroup;
  public readonly customDomain: apigwv2.DomainName | undefined;
  /** The URL clients use: https://<domainName> when a custom domain is set, else the execute-api URL. */
  public readonly externalUrl: string;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);

    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: [...props.corsAllowedOrigins],
        allowMethods: [
          apigwv2.CorsHttpMethod.GET,
          apigwv2.CorsHttpMethod.POST,
          apigwv2.CorsHttpMethod.PATCH,
          apigwv2.CorsHttpMethod.DELETE,
          apigwv2.CorsHttpMethod.OPTIONS,
        ],
        allowHeaders: ['Content-Type', 'Authorization', 'Idempotency-Key'],
      },
    });

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention: logs.RetentionDays.ONE_MONTH });
    this.defaultStage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      // Beyond these API Gateway answers 429 itself, before ApiFunction runs (issue 27).
      throttle: { rateLimit: props.throttle.rateLimit, burstLimit: props.throttle.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        format: apigw.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FORMAT)),
      },
    });

    if (props.domainName !== '') {
      this.customDomain = new apigwv2.DomainName(this, 'DomainName', {
        domainName: props.domainName,
        certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn),
      });
      new apigwv2.ApiMapping(this, 'ApiMapping', {
        api: this.httpApi,
        domainName: this.customDomain,
        stage: this.defaultStage,
      });
      this.externalUrl = `https://${props.domainName}`;
    } else {
      this.customDomain = undefined;
      this.externalUrl = `https://${this.httpApi.apiId}.execute-api.${Stack.of(this).region}.amazonaws.com`;
    }
  }

  routeToApiFunction(apiFunction: lambda.IFunction): void {
    const routes = this.httpApi.addRoutes({
      path: '/{proxy+}',
      methods: [apigwv2.HttpMethod.ANY],
      integration: new HttpLambdaIntegration('ApiFunctionIntegration', apiFunction),
    });
    for (const route of routes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'ApiFunction authenticates every request itself (session cookies, OAuth, API keys, Stripe webhook signatures); some routes such as sign-in and webhooks must be reachable without credentials, so no API Gateway authorizer fits the single proxy route.',
      });
    }
  }
}

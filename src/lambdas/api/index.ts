// ApiFunction: HTTP API (payload v2) `ANY /{proxy+}` -> router.ts. This file only adapts the event.
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import pkg from '../../../package.json' with { type: 'json' };
import { clientOptions } from '../shared/aws.ts';
import { getPool } from '../shared/db.ts';
import { ConfigError, readStackEnv } from '../shared/env.ts';
import { createLogger } from '../shared/observability.ts';
import type { ApiRequest, ApiResponse } from './http.ts';
import { quotasFromEnv } from './quotas.ts';
import { handleRequest, type ApiDeps } from './router.ts';

/** A rotated admin key takes effect within this many seconds, without a redeploy. */
const ADMIN_KEY_CACHE_SECONDS = 300;

let deps: ApiDeps | undefined;
let ssm: SSMProvider | undefined;

function containerDeps(): ApiDeps {
  deps ??= {
    pool: getPool,
    adminKey: async () => {
      const name = process.env.ADMIN_API_KEY_SSM_PARAM;
      if (!name) throw new ConfigError('Missing environment variable ADMIN_API_KEY_SSM_PARAM (set by the WatchPoint stack).');
      ssm ??= new SSMProvider({ clientConfig: clientOptions() });
      const value = await ssm.get(name, { decrypt: true, maxAge: ADMIN_KEY_CACHE_SECONDS });
      return typeof value === 'string' ? value.trim() : '';
    },
    config: () => {
      const env = readStackEnv(['appEnv', 'databaseUrlParam']);
      if (!process.env.ADMIN_API_KEY_SSM_PARAM) throw new ConfigError('Missing environment variable ADMIN_API_KEY_SSM_PARAM (set by the WatchPoint stack).');
      return { appEnv: env.appEnv };
    },
    version: pkg.version,
    logger: createLogger('api'),
    quotas: quotasFromEnv(process.env),
  };
  return deps;
}

/** HTTP API v2 event -> ApiRequest (header names lowercased, base64 bodies decoded). */
export function toApiRequest(event: APIGatewayProxyEventV2): ApiRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) if (value !== undefined) headers[name.toLowerCase()] = value;
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) if (value !== undefined) query[name] = value;
  const body = event.body === undefined ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  return {
    method: event.requestContext.http.method,
    path: event.rawPath || event.requestContext.http.path,
    headers,
    query,
    body,
    requestId: event.requestContext.requestId,
    sourceIp: event.requestContext.http.sourceIp,
  };
}

export function toResult(response: ApiResponse): APIGatewayProxyStructuredResultV2 {
  return { statusCode: response.status, headers: response.headers, body: response.body, isBase64Encoded: false };
}

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> =>
  toResult(await handleRequest(toApiRequest(event), containerDeps()));

// The calls of `watchpoint api-keys`: where the environment's API is (the platform stack's ApiEndpoint
// output, or the running watchpoint dev's API for --env local), the admin key (SSM SecureString,
// decrypted in memory, never printed), and the admin routes of docs/api.md over HTTPS with a timeout.
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Quotas } from '../../lambdas/api/quotas.ts';
import type { ApiKeySummary, KeyQuotas } from '../../lambdas/api/store.ts';
import { isStackMissing } from '../aws.ts';
import { LOCAL_ENV_NAME, stackNames } from '../context.ts';
import { WatchpointError, userError } from '../errors.ts';

export interface AdminClients {
  cloudformation: CloudFormationClient;
  ssm: SSMClient;
}

/** One row of GET /v1/api-keys: the store's summary with the quotas in force and the key's own. */
export type ApiKeyRow = Omit<ApiKeySummary, 'quotas'> & { quotas: Quotas; own_quotas: KeyQuotas };

export type Selector = { key: string } | { recipient: string };

export interface AdminApi {
  /** Where the calls go, for messages. */
  readonly url: string;
  list(recipient: string | undefined): Promise<{ data: ApiKeyRow[]; truncated: boolean }>;
  revoke(keyId: string): Promise<void>;
  pause(selector: Selector): Promise<{ count: number; watchpointIds: string[] }>;
  resume(selector: Selector): Promise<{ count: number; watchpointIds: string[] }>;
}

export const ADMIN_KEY_PARAMETER = (envName: string) => `/${envName}/watchpoint/security/admin_api_key`;
const REQUEST_TIMEOUT_MS = 30_000;

export interface ConnectOptions {
  envName: string;
  clients: AdminClients;
  /** --env local: the running watchpoint dev's API URL (its state file). */
  localApiUrl?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** The API's URL and the admin key; each missing piece is an error saying how to get it. */
export async function connectAdminApi(options: ConnectOptions): Promise<AdminApi> {
  const { envName } = options;
  const env = `--env ${envName}`;
  const url = (options.localApiUrl ?? (await apiEndpoint(options.clients.cloudformation, envName))).replace(/\/+$/, '');
  const { GetParameterCommand } = await import('@aws-sdk/client-ssm');
  let adminKey: string;
  try {
    const out = await options.clients.ssm.send(new GetParameterCommand({ Name: ADMIN_KEY_PARAMETER(envName), WithDecryption: true }));
    adminKey = out.Parameter?.Value?.trim() ?? '';
  } catch (error) {
    if ((error as { name?: string }).name !== 'ParameterNotFound') throw error;
    adminKey = '';
  }
  if (adminKey === '') {
    throw userError('ADMIN_KEY_MISSING', `The admin key ${ADMIN_KEY_PARAMETER(envName)} is not set, so the admin API refuses every call.`,
      `Set it with \`watchpoint secrets set security/admin_api_key --generate ${env}\`, wait up to 5 minutes for the API to read it, then run this again.`);
  }
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;

  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    let response: Response;
    try {
      response = await doFetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const timedOut = (error as { name?: string }).name === 'TimeoutError';
      throw new WatchpointError(`${method} ${url}${path} ${timedOut ? `did not answer within ${timeoutMs / 1000} s` : `failed: ${(error as Error).message}`}.`, {
        code: 'ADMIN_API_UNREACHABLE',
        fault: 'system',
        fix: envName === LOCAL_ENV_NAME
          ? 'Check that `watchpoint dev` is still running in this directory (its terminal says why it stopped), then run this again.'
          : `Check the API with \`watchpoint status ${env}\` and its log with \`watchpoint logs api ${env} --since 15m\`, then run this again.`,
        cause: error,
      });
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (response.ok) return json;
    throw adminError(method, path, response.status, json, env);
  };

  const selectorBody = (selector: Selector) => ('key' in selector ? { api_key_id: selector.key } : { recipient: selector.recipient });
  const changed = (verb: 'paused' | 'resumed') => (json: unknown) => {
    const body = json as Record<string, unknown> | undefined;
    return { count: Number(body?.[verb] ?? 0), watchpointIds: Array.isArray(body?.watchpoint_ids) ? (body.watchpoint_ids as string[]) : [] };
  };
  return {
    url,
    list: async (recipient) => (await call('GET', `/v1/api-keys${recipient === undefined ? '' : `?recipient=${encodeURIComponent(recipient)}`}`)) as { data: ApiKeyRow[]; truncated: boolean },
    revoke: async (keyId) => {
      await call('DELETE', `/v1/api-keys/${encodeURIComponent(keyId)}`);
    },
    pause: async (selector) => changed('paused')(await call('POST', '/v1/admin/watchpoints/pause', selectorBody(selector))),
    resume: async (selector) => changed('resumed')(await call('POST', '/v1/admin/watchpoints/resume', selectorBody(selector))),
  };
}

async function apiEndpoint(cloudformation: CloudFormationClient, envName: string): Promise<string> {
  const { DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const stackName = stackNames(envName).platform;
  let outputs: { OutputKey?: string; OutputValue?: string }[] = [];
  try {
    outputs = (await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    if (!isStackMissing(error)) throw error;
    throw userError('STACK_MISSING', `The stack ${stackName} is not deployed, so environment "${envName}" has no API.`, `Deploy it with \`watchpoint deploy --env ${envName}\`, or pick the environment that has it with --env.`);
  }
  const url = outputs.find((output) => output.OutputKey === 'ApiEndpoint')?.OutputValue;
  if (!url) {
    throw new WatchpointError(`The stack ${stackName} has no ApiEndpoint output.`, { code: 'API_ENDPOINT_MISSING', fault: 'system', fix: `Redeploy it with \`watchpoint deploy --env ${envName}\`; the platform stack always exports ApiEndpoint.` });
  }
  return url;
}

/** An admin API error as the operator can act on it; the problem's detail is quoted, never the key. */
function adminError(method: string, path: string, status: number, json: unknown, env: string): WatchpointError {
  const problem = (json ?? {}) as { type?: string; detail?: string; request_id?: string };
  const detail = typeof problem.detail === 'string' ? problem.detail : `HTTP ${status}`;
  const message = `${method} ${path} was refused with ${status}: ${detail}${problem.request_id ? ` (request_id ${problem.request_id})` : ''}`;
  if (status === 401) {
    return new WatchpointError(message, { code: 'ADMIN_KEY_REFUSED', fault: 'user', fix: `The admin key in SSM was not accepted: after a rotation the API takes up to 5 minutes to read the new one; check it with \`watchpoint secrets get security/admin_api_key ${env}\` and run this again.` });
  }
  if (status === 404) return userError('NOT_FOUND', message, `Find the key's id with \`watchpoint api-keys list ${env}\` (a revoked key cannot be revoked again).`);
  if (status === 400) return userError('ADMIN_API_REFUSED', message, 'Correct the value the message names and run this again.');
  return new WatchpointError(message, { code: 'ADMIN_API_FAILED', fault: 'system', fix: `Look at the API's log with \`watchpoint logs api ${env} --since 15m\` (quote the request_id), then run this again.` });
}

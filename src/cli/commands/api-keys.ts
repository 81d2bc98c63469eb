// `watchpoint api-keys list|revoke|pause|resume`: the operator's incident tool over the admin API
// (docs/api.md, "Pausing"). This file orchestrates; api-keys/admin.ts makes the calls and
// api-keys/report.ts renders.
import { connectAdminApi, type AdminApi, type AdminClients, type Selector } from '../api-keys/admin.ts';
import { renderChange, renderList, renderRevoked } from '../api-keys/report.ts';
import { sdkClients } from '../aws.ts';
import { LOCAL_ENV_NAME, resolveStage, type CommandContext } from '../context.ts';
import { ExitCode } from '../errors.ts';
import { flagError, runtimeOf, type Injectable, type Runtime } from '../flags.ts';
import { pickStyle } from '../output.ts';
import type { ApiKeysAction, ApiKeysFlags } from './api-keys.define.ts';

export interface ApiKeysOptions extends Runtime {
  action: ApiKeysAction;
  json: boolean;
  /** list: only keys emailing this address. */
  recipient: string | undefined;
  /** revoke: the key; pause/resume: whose watchpoints. */
  keyId: string | undefined;
  selector: Selector | undefined;
  /** Injected in tests; otherwise built from the stage. */
  admin: AdminApi | undefined;
  clients: AdminClients | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// The API's own check is zod's email; this one only catches what is plainly not an address.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function keyIdFlag(flag: string, raw: string): string {
  const value = raw.trim();
  if (!UUID.test(value)) throw flagError(flag, `"${raw}" is not an API key id.`, 'Give the key\'s id (a UUID, the ID column of `watchpoint api-keys list`), not the key or its prefix.');
  return value.toLowerCase();
}

function recipientFlag(raw: string): string {
  const value = raw.trim();
  if (!EMAIL.test(value) || value.length > 320) throw flagError('--recipient', `"${raw}" is not an email address.`, 'Give the address the watchpoints send to, e.g. --recipient ops@example.com.');
  return value;
}

/** The flag contract: validated before any call (exit 2 naming the flag); no AWS, no config. */
export function parseApiKeysOptions(action: ApiKeysAction, flags: ApiKeysFlags, context: CommandContext & Injectable & { admin?: AdminApi; clients?: AdminClients }): ApiKeysOptions {
  let keyId: string | undefined;
  let recipient: string | undefined;
  let selector: Selector | undefined;
  if (action === 'list') {
    if (flags.key !== undefined) throw flagError('--key', 'is not an option of `api-keys list`.', 'List every key, or only those emailing an address with --recipient.');
    recipient = flags.recipient === undefined ? undefined : recipientFlag(flags.recipient);
  } else if (action === 'revoke') {
    keyId = keyIdFlag('KEY_ID', flags.key ?? '');
  } else {
    if ((flags.key === undefined) === (flags.recipient === undefined)) {
      throw flagError('--key/--recipient', `\`api-keys ${action}\` needs exactly one of them.`, `Give --key KEY_ID for one key's watchpoints, or --recipient EMAIL for every watchpoint emailing that address.`);
    }
    selector = flags.key !== undefined ? { key: keyIdFlag('--key', flags.key) } : { recipient: recipientFlag(flags.recipient!) };
  }
  return {
    ...runtimeOf(context),
    action,
    json: Boolean(flags.json),
    recipient,
    keyId,
    selector,
    admin: context.admin,
    clients: context.clients,
  };
}

export async function runApiKeys(options: ApiKeysOptions): Promise<number> {
  const { io } = options;
  const { envName, stage } = await resolveStage(options);
  const admin = options.admin ?? (await connect(options, envName, stage));
  const print = (json: unknown, human: string | string[]) => io.result(options.json ? JSON.stringify(json, null, 2) : [human].flat().join('\n'));

  if (options.action === 'list') {
    const { data, truncated } = await admin.list(options.recipient);
    print({ env: envName, recipient: options.recipient ?? null, keys: data, truncated }, renderList(data, truncated, options.recipient, pickStyle(options.stdoutIsTty, options.env), options.now()));
    return ExitCode.ok;
  }
  if (options.action === 'revoke') {
    const keyId = options.keyId!;
    const before = (await admin.list(undefined)).data.find((row) => row.id === keyId);
    const what = before ? `${before.key_prefix}… "${before.name}", ${before.watchpoints} watchpoint(s)` : 'not found in the list';
    const yes = await io.ask({ kind: 'confirm', message: `Revoke API key ${keyId} (${what}) in ${envName}? It can never be used again, and its watchpoints are paused.`, default: false, dangerous: true });
    if (!yes) {
      io.notify('info', 'Nothing was revoked.');
      return ExitCode.ok;
    }
    await admin.revoke(keyId);
    // Read back rather than computed from the list before: what is paused now, never more than that.
    const after = (await admin.list(undefined)).data.find((row) => row.id === keyId);
    const paused = after?.paused ?? 0;
    print({ env: envName, revoked: keyId, watchpoints_paused: paused, watchpoints: after?.watchpoints ?? 0 }, renderRevoked(keyId, paused, after?.watchpoints ?? 0));
    return ExitCode.ok;
  }
  const selector = options.selector!;
  const { count, watchpointIds } = options.action === 'pause' ? await admin.pause(selector) : await admin.resume(selector);
  print({ env: envName, action: options.action, ...('key' in selector ? { api_key_id: selector.key } : { recipient: selector.recipient }), count, watchpoint_ids: watchpointIds }, renderChange(options.action, selector, count));
  return ExitCode.ok;
}

async function connect(options: ApiKeysOptions, envName: string, stage: Parameters<typeof sdkClients>[0]): Promise<AdminApi> {
  const clients = options.clients ?? (await sdkClients(stage, ['cloudformation', 'ssm']));
  let localApiUrl: string | undefined;
  if (envName === LOCAL_ENV_NAME) {
    const { readDevState } = await import('../../dev/state.ts');
    localApiUrl = readDevState(options.cwd)?.api;
  }
  return connectAdminApi({ envName, clients, ...(localApiUrl ? { localApiUrl } : {}) });
}

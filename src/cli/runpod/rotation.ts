// The rotation state machine of `watchpoint runpod rotate-keys`: from the stage IAM and SSM are in,
// each stage (create, verify, deactivate, reactivate, delete, store the secret) with its IAM and SSM
// calls, its confirmations and its undo on failure. The command file parses the flags and builds the
// clients; what the status looks like is in report.ts. Design: docs/runpod-key-rotation.md.
import type { IAMClient } from '@aws-sdk/client-iam';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { ExitCode, WatchpointError, userError } from '../errors.ts';
import type { Io } from '../io.ts';
import { describeOne, putValue, type PutPlan } from '../secrets/ssm.ts';
import { findRunPodUser, isAccessDenied, readSnapshot, type ParameterNames, type RunPodClients, type RunPodUser } from './aws.ts';
import { statusJson, statusLines } from './report.ts';
import {
  analyze,
  canDeactivate,
  canDelete,
  createPlan,
  evidence,
  last4,
  RUNPOD_SERVICE,
  secretMatches,
  usedByRunPodSinceCreation,
  type Analysis,
  type KeyInfo,
  type Snapshot,
  type StageName,
  type Verdict,
} from './state.ts';

export const DEFAULT_VERIFY_TIMEOUT_S = 60;
export const MAX_VERIFY_TIMEOUT_S = 900;
export const SECRET_GET = 'watchpoint secrets get forecast/runpod_aws_secret_access_key --reveal';
const ID_GET = 'watchpoint secrets get forecast/runpod_aws_access_key_id --reveal';

/** The flags of a run, validated (commands/runpod.ts parseRotateKeysOptions). */
export interface RotateOptions {
  stage?: StageName;
  status: boolean;
  showSecret: boolean;
  force: boolean;
  timeoutMs: number;
  json: boolean;
  dryRun: boolean;
  storeSecret: boolean;
  stdin: boolean;
}

/** An AWS secret access key: 40 characters of base64. */
const SECRET_ACCESS_KEY = /^[A-Za-z0-9/+=]{40}$/;

export interface RotationInput {
  io: Io;
  envName: string;
  clients: RunPodClients;
  options: RotateOptions;
  names: ParameterNames;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  readStdin: () => Promise<string>;
}

export class Rotation {
  user: RunPodUser | undefined;
  private readonly io: Io;
  private readonly envName: string;
  private readonly clients: RunPodClients;
  private readonly options: RotateOptions;
  private readonly names: ParameterNames;
  private readonly now: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly readStdin: () => Promise<string>;

  constructor(input: RotationInput) {
    this.io = input.io;
    this.envName = input.envName;
    this.clients = input.clients;
    this.options = input.options;
    this.names = input.names;
    this.now = input.now;
    this.sleep = input.sleep;
    this.readStdin = input.readStdin;
  }

  private get userName(): string {
    return this.user!.userName;
  }

  private async snapshot(): Promise<Snapshot> {
    return readSnapshot(this.clients, this.userName, this.names, this.now());
  }

  private command(stage: StageName, extra = ''): string {
    return `watchpoint runpod rotate-keys --env ${this.envName} --stage ${stage}${extra}`;
  }

  async run(): Promise<number> {
    this.user = await findRunPodUser(this.clients.cloudformation, this.envName);
    const snap = await this.snapshot();
    const analysis = analyze(snap);
    if (this.options.status) {
      if (this.options.json) this.io.result(JSON.stringify(statusJson(this.envName, snap, analysis), null, 2));
      else for (const line of statusLines(this.envName, snap, analysis)) this.io.result(line);
      return ExitCode.ok;
    }
    for (const line of statusLines(this.envName, snap, analysis)) this.io.notify('info', line);
    if (this.options.storeSecret) return this.storeSecret(analysis);
    if (this.options.stage) return this.runStage(this.options.stage, snap, analysis);
    return this.walk(snap, analysis);
  }

  /** On a terminal: offer each next stage in turn, stopping where a person or RunPod must act. */
  private async walk(first: Snapshot, firstAnalysis: Analysis): Promise<number> {
    let snap = first;
    let analysis = firstAnalysis;
    const done: StageName[] = [];
    for (;;) {
      let next = analysis.next;
      if (!next) {
        for (const line of analysis.guidance) this.io.notify('warn', line);
        return ExitCode.failure;
      }
      if (next === 'create' && done.includes('delete')) {
        this.io.notify('success', 'Rotation complete.');
        return ExitCode.ok;
      }
      if (next === 'verify' && done.includes('verify')) {
        const verdict = canDeactivate(analysis);
        if (!verdict.allowed) {
          this.io.notify('info', `Stopping here. Once RunPod uses the new key, run \`${this.command('verify')}\` again (or run this command again).`);
          return ExitCode.ok;
        }
        next = 'deactivate';
      }
      if (next === 'delete' && done.includes('deactivate')) {
        this.io.notify('info', 'The old key is now inactive. Let at least one forecast run on the new key before deleting it; if anything breaks, run --stage reactivate.');
      }
      if (done.length > 0 && done[done.length - 1] === next) return ExitCode.ok;
      const go = await this.io.ask({ kind: 'confirm', message: `Next stage: ${next}. Run it now?`, default: next !== 'delete' });
      if (!go) {
        this.io.notify('info', `Stopped before ${next}. Resume any time: the stage is read from IAM and SSM.`);
        return ExitCode.ok;
      }
      const code = await this.runStage(next, snap, analysis);
      if (code !== ExitCode.ok) return code;
      done.push(next);
      snap = await this.snapshot();
      analysis = analyze(snap);
      for (const line of statusLines(this.envName, snap, analysis)) this.io.notify('info', line);
    }
  }

  private async runStage(stage: StageName, snap: Snapshot, analysis: Analysis): Promise<number> {
    switch (stage) {
      case 'create':
        return this.create(snap, analysis);
      case 'verify':
        return this.verify(snap, analysis);
      case 'deactivate':
        return this.deactivate(snap, analysis);
      case 'reactivate':
        return this.reactivate(snap);
      case 'delete':
        return this.delete(snap, analysis);
    }
  }

  /** In --dry-run, prints the call instead of making it. */
  private async step(call: string, action: () => Promise<void>): Promise<void> {
    if (this.options.dryRun) {
      this.io.result(`would call ${call}`);
      return;
    }
    await action();
  }

  private async iam(): Promise<typeof import('@aws-sdk/client-iam') & { client: IAMClient }> {
    return { ...(await import('@aws-sdk/client-iam')), client: this.clients.iam };
  }

  private async ssm(): Promise<typeof import('@aws-sdk/client-ssm') & { client: SSMClient }> {
    return { ...(await import('@aws-sdk/client-ssm')), client: this.clients.ssm };
  }

  /**
   * Writes as `secrets set` does: the parameter's own KMS key and tier are kept (an overwrite without
   * KeyId would move it to the account's default key), a new parameter gets the app/env tags, and an
   * overwrite re-applies them.
   */
  private async putParameter(name: string, value: string): Promise<void> {
    const { client } = await this.ssm();
    const existing = await describeOne(client, name);
    const plan: PutPlan = { path: name, envName: this.envName, existing, kmsKeyId: undefined, bytes: Buffer.byteLength(value, 'utf8'), description: 'RunPod upload credentials (managed by watchpoint runpod rotate-keys)' };
    await putValue(client, plan, value, (text) => this.io.notify('warn', text));
  }

  /** The secret parameter's latest value and version (kept in memory only), or null when it does not exist. */
  private async readSecret(): Promise<{ value: string; version: number | undefined } | null> {
    const { client, GetParameterCommand } = await this.ssm();
    try {
      const answer = await client.send(new GetParameterCommand({ Name: this.names.secret, WithDecryption: true }));
      return answer.Parameter?.Value === undefined ? null : { value: answer.Parameter.Value, version: answer.Parameter.Version };
    } catch (error) {
      if (error instanceof Error && error.name === 'ParameterNotFound') return null;
      throw error;
    }
  }

  // ---- store-secret -------------------------------------------------------------------------

  /**
   * The way out of "stored secret is stale": the operator gives the secret of the key SSM names (from
   * stdin or a hidden prompt, never argv); it is stored only after it authenticates as the RunPod
   * user with that key id.
   */
  private async storeSecret(analysis: Analysis): Promise<number> {
    const current = analysis.current;
    if (!current) {
      throw userError('ROTATION_REFUSED', `SSM names no access key of ${this.userName} (${this.names.keyId}), so there is no key to store a secret for.`, 'Run --status; `--stage create` puts a tracked key and its secret in place.');
    }
    const raw = this.options.stdin
      ? await this.readStdin()
      : await this.io.ask({
        kind: 'secret',
        field: `The secret access key of ${last4(current.id)}`,
        message: `Secret access key of ${last4(current.id)} (input hidden)`,
        noTerminalFix: 'Pipe it in with --stdin.',
        validate: (value) => (SECRET_ACCESS_KEY.test(value.trim()) ? true : 'is not an AWS secret access key (40 characters of A-Z, a-z, 0-9, /, +, =)'),
      });
    const secret = raw.replace(/\r?\n$/, '').trim();
    if (!SECRET_ACCESS_KEY.test(secret)) {
      throw userError('SECRET_INVALID', `The value given is not an AWS secret access key (40 characters of A-Z, a-z, 0-9, /, +, =); nothing stored. (Value not shown.)`, `Pipe in the secret of ${last4(current.id)} exactly as IAM issued it.`);
    }
    if (this.options.dryRun) {
      this.io.result(`would call sts:GetCallerIdentity signed with ${last4(current.id)} and the given secret (kept in memory)`);
      this.io.result(`would call ssm:PutParameter ${this.names.secret} (SecureString, overwrite, same KMS key)`);
      return ExitCode.ok;
    }
    const { GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
    let arn: string | undefined;
    try {
      arn = (await this.clients.stsWith({ accessKeyId: current.id, secretAccessKey: secret }).send(new GetCallerIdentityCommand({}))).Arn;
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      throw userError('RUNPOD_SECRET_WRONG', `The secret given does not authenticate key ${last4(current.id)} (${name}); nothing stored.`, `Check that it is the secret of the key ending in ${current.id.slice(-4)} (\`--status\` lists the keys).`);
    }
    if (arn?.split('/').pop() !== this.userName) {
      throw new WatchpointError(`Key ${last4(current.id)} authenticates as ${arn ?? 'an unknown identity'}, not ${this.userName}; nothing stored.`, { code: 'RUNPOD_KEY_MISMATCH', fault: 'system', fix: 'Run --status and check which key SSM names.' });
    }
    this.io.notify('info', `The secret authenticates ${last4(current.id)} as ${this.userName} (this check records a use by sts; RunPod's own use shows again after its next upload).`);
    await this.putParameter(this.names.secret, secret);
    this.io.result(`Stored the secret of ${last4(current.id)} in ${this.names.secret} (SecureString). Next: \`watchpoint runpod rotate-keys --env ${this.envName} --status\`.`);
    return ExitCode.ok;
  }

  private async deleteKey(key: Pick<KeyInfo, 'id'>): Promise<void> {
    const { client, DeleteAccessKeyCommand } = await this.iam();
    await client.send(new DeleteAccessKeyCommand({ UserName: this.userName, AccessKeyId: key.id }));
  }

  private async setStatus(key: Pick<KeyInfo, 'id'>, status: 'Active' | 'Inactive'): Promise<void> {
    const { client, UpdateAccessKeyCommand } = await this.iam();
    await client.send(new UpdateAccessKeyCommand({ UserName: this.userName, AccessKeyId: key.id, Status: status }));
  }

  private refuse(stage: StageName, verdict: Verdict): never {
    throw userError(
      'ROTATION_REFUSED',
      `Refusing to ${stage}:\n  ${verdict.reasons.join('\n  ')}`,
      verdict.forceable ? `If you accept that risk, re-run \`${this.command(stage, ' --force')}\`.` : 'Check `--status`; this rule cannot be overridden.',
    );
  }

  // ---- create -------------------------------------------------------------------------------

  private async create(snap: Snapshot, analysis: Analysis): Promise<number> {
    const plan = createPlan(analysis, snap.now);
    if (!plan.allowed) {
      throw userError('ROTATION_REFUSED', `Refusing to create a key:\n  ${plan.reasons.join('\n  ')}`, 'Run with --status to see the keys; follow the guidance above.');
    }
    if (plan.remove) {
      const why = plan.remove.lastUsed === undefined ? 'never used' : `inactive, last used ${plan.remove.lastUsed.toISOString()}`;
      const ok = await this.io.ask({
        kind: 'confirm',
        dangerous: true,
        default: false,
        message: `IAM allows 2 keys. Delete ${last4(plan.remove.id)} (${why}, not the key RunPod uses) so a new key can be created?`,
      });
      if (!ok) {
        this.io.notify('info', 'Nothing changed.');
        return ExitCode.failure;
      }
    }
    if (!this.options.showSecret) {
      this.io.notify(
        this.io.interactive ? 'info' : 'warn',
        `The new secret will be stored in SSM only (${this.names.secret}); it is shown once at creation only with --show-secret. ` +
          `To paste it into RunPod later: \`${ID_GET}\` and \`${SECRET_GET}\`.`,
      );
    }
    if (plan.repointTo) {
      const target = plan.repointTo;
      await this.step(`ssm:PutParameter ${this.names.keyId} = ${last4(target.id)} (SecureString, overwrite)`, async () => {
        await this.putParameter(this.names.keyId, target.id);
        this.io.notify('info', `SSM points back to ${last4(target.id)}.`);
      });
    }
    if (plan.remove) {
      const stray = plan.remove;
      await this.step(`iam:DeleteAccessKey ${this.userName} ${last4(stray.id)}`, async () => {
        await this.deleteKey(stray);
        this.io.notify('info', `Deleted ${last4(stray.id)}.`);
      });
    }
    if (this.options.dryRun) {
      this.io.result(`would call iam:CreateAccessKey ${this.userName}`);
      this.io.result(`would call ssm:PutParameter ${this.names.keyId} (SecureString, overwrite)`);
      this.io.result(`would call ssm:PutParameter ${this.names.secret} (SecureString, overwrite)`);
      return ExitCode.ok;
    }

    const { client, CreateAccessKeyCommand } = await this.iam();
    const created = await client.send(new CreateAccessKeyCommand({ UserName: this.userName }));
    const id = created.AccessKey?.AccessKeyId;
    const secret = created.AccessKey?.SecretAccessKey;
    if (!id || !secret) throw new WatchpointError('IAM returned no access key.', { code: 'RUNPOD_CREATE_EMPTY', fault: 'system' });
    this.io.notify('info', `Created key ${last4(id)}; storing it in SSM ...`);

    // The id first, then the secret: a crash between the two leaves the id pointing at a key newer
    // than the secret parameter, which the next run recognizes (interrupted-create) and repairs.
    const previousId = plan.repointTo?.id ?? snap.ssm.keyId ?? null;
    let previousSecret: Awaited<ReturnType<Rotation['readSecret']>>;
    try {
      // Read before anything is written, so an undo can put the old secret back (memory only).
      previousSecret = await this.readSecret();
    } catch (error) {
      await this.undoCreate(id, error, undefined, undefined);
    }
    try {
      await this.putParameter(this.names.keyId, id);
    } catch (error) {
      // A denied write changed nothing; any other failure may have landed, so put the old id back.
      await this.undoCreate(id, error, isAccessDenied(error) ? undefined : previousId, undefined);
    }
    try {
      await this.putParameter(this.names.secret, secret);
    } catch (error) {
      // The secret write too may have landed (a timeout after SSM took it): restore the old secret.
      await this.undoCreate(id, error, previousId, isAccessDenied(error) ? undefined : previousSecret!);
    }

    this.io.notify('success', `New key ${last4(id)} stored as SecureStrings in ${this.names.keyId} and ${this.names.secret}.`);
    if (this.options.showSecret) {
      this.io.notify('warn', 'The credentials follow on stdout, once. Paste them into RunPod now; they are not shown again.');
      this.io.result(`AWS_ACCESS_KEY_ID=${id}`);
      this.io.result(`AWS_SECRET_ACCESS_KEY=${secret}`);
    } else if (!this.io.interactive) {
      this.io.notify('warn', `THE SECRET WAS NOT SHOWN. It exists only in SSM. Fetch it with \`${SECRET_GET}\` to paste into RunPod.`);
    } else {
      this.io.notify('info', `To paste into RunPod: \`${ID_GET}\` and \`${SECRET_GET}\`.`);
    }
    this.io.notify('info', `Next: put the new key into RunPod's settings, let a forecast run, then \`${this.command('verify')}\`.`);
    return ExitCode.ok;
  }

  /**
   * Storing failed: no secret may exist nowhere. `previousId` is the id parameter's old value to
   * restore (null: there was none, delete it; undefined: the id was never written).
   */
  private async undoCreate(
    id: string,
    storeError: unknown,
    previousId: string | null | undefined,
    previousSecret: { value: string; version: number | undefined } | null | undefined,
  ): Promise<never> {
    this.io.notify('error', `Storing the new key ${last4(id)} in SSM failed; deleting the new key so no secret is left behind.`);
    const problems: string[] = [];
    if (previousSecret !== undefined) {
      try {
        const { client, DeleteParameterCommand } = await this.ssm();
        const now = await describeOne(client, this.names.secret);
        if (previousSecret === null) {
          // There was none before: if the write landed, remove it.
          if (now) await client.send(new DeleteParameterCommand({ Name: this.names.secret }));
        } else if (now?.version !== previousSecret.version) {
          await this.putParameter(this.names.secret, previousSecret.value);
        }
      } catch {
        problems.push(`${this.names.secret} could not be restored to its previous value; its previous version is still in the parameter's history (\`watchpoint secrets history forecast/runpod_aws_secret_access_key\`).`);
      }
    }
    if (previousId !== undefined) {
      try {
        if (previousId === null) {
          const { client, DeleteParameterCommand } = await this.ssm();
          try {
            await client.send(new DeleteParameterCommand({ Name: this.names.keyId }));
          } catch (error) {
            if (!(error instanceof Error && error.name === 'ParameterNotFound')) throw error;
          }
        } else {
          await this.putParameter(this.names.keyId, previousId);
        }
      } catch {
        problems.push(`${this.names.keyId} could not be restored; the next run repairs it (interrupted create).`);
      }
    }
    try {
      await this.deleteKey({ id });
      this.io.notify('info', `Deleted the new key ${last4(id)}. Nothing else changed.`);
    } catch {
      problems.push(
        `The new key ${last4(id)} could NOT be deleted. Delete it now: \`aws iam list-access-keys --user-name ${this.userName}\` ` +
          `to read the id ending in ${id.slice(-4)}, then \`aws iam delete-access-key --user-name ${this.userName} --access-key-id <that id>\` ` +
          `(or in the IAM console). \`${this.command('create')}\` also offers to delete it once SSM works.`,
      );
    }
    for (const problem of problems) this.io.notify('error', problem);
    throw new WatchpointError(`Could not store the new key in SSM${problems.length === 0 ? '; it was deleted again' : ''}.`, {
      code: 'RUNPOD_STORE_FAILED',
      fault: 'system',
      fix: `Make sure you may call ssm:PutParameter on /${this.envName}/watchpoint/forecast/* (and use its KMS key), then re-run \`${this.command('create')}\`.`,
      cause: storeError,
    });
  }

  // ---- verify -------------------------------------------------------------------------------

  private async verify(snap: Snapshot, analysis: Analysis): Promise<number> {
    const current = analysis.current;
    if (!current || !secretMatches(snap.ssm, current)) {
      throw userError('ROTATION_REFUSED', `Nothing to verify: ${analysis.summary}`, 'Run with --status and follow the next stage it names.');
    }
    if (current.status !== 'Active') throw userError('ROTATION_REFUSED', `The SSM key ${last4(current.id)} is inactive.`, `Run \`${this.command('reactivate')}\`.`);
    if (this.options.dryRun) {
      this.io.result(`would call ssm:GetParameter ${this.names.secret} (decrypted, kept in memory)`);
      this.io.result(`would call sts:GetCallerIdentity signed with ${last4(current.id)}, with backoff up to ${this.options.timeoutMs / 1000} s (skipped when RunPod already used the key)`);
      return ExitCode.ok;
    }
    if (usedByRunPodSinceCreation(current)) {
      // Calling STS would overwrite that evidence with a use by "sts", so it is not repeated.
      this.io.notify('success', `Key ${last4(current.id)} was used by ${RUNPOD_SERVICE} at ${current.lastUsed!.toISOString()}: it authenticates.`);
    } else if (!(await this.authenticate(current))) {
      return ExitCode.failure;
    }
    return this.reportSwitch(analysis, current);
  }

  private async authenticate(current: KeyInfo): Promise<boolean> {
    const { client, GetParameterCommand } = await this.ssm();
    const stored = await client.send(new GetParameterCommand({ Name: this.names.secret, WithDecryption: true }));
    const secretAccessKey = stored.Parameter?.Value;
    if (!secretAccessKey) throw new WatchpointError(`${this.names.secret} is empty.`, { code: 'RUNPOD_SECRET_EMPTY', fault: 'system' });

    return this.waitForAuthentication(current.id, secretAccessKey);
  }

  private reportSwitch(analysis: Analysis, current: KeyInfo): number {
    const other = analysis.other;
    if (!other) {
      this.io.result(`Key ${last4(current.id)} authenticates. There is no old key to retire.`);
      return ExitCode.ok;
    }
    const proof = evidence(current, other);
    for (const line of proof.lines) this.io.notify('info', `  ${line}`);
    if (proof.switched) {
      this.io.result(`Key ${last4(current.id)} authenticates, and RunPod has switched to it. Next: \`${this.command('deactivate')}\`.`);
    } else {
      this.io.result(`Key ${last4(current.id)} authenticates, but there is no evidence yet that RunPod has switched to it.`);
      this.io.notify(
        'warn',
        `Put the new key into RunPod (\`${ID_GET}\`, \`${SECRET_GET}\`), let a forecast run, and verify again. ` +
          (proof.oldNeverUsed ? 'The old key was never used, so deactivating it is safe anyway.' : 'Until then, deactivate needs --force.'),
      );
    }
    return ExitCode.ok;
  }

  /** IAM is eventually consistent: a new key can fail for some seconds. Backs off up to --timeout. */
  private async waitForAuthentication(accessKeyId: string, secretAccessKey: string): Promise<boolean> {
    const { GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
    const sts = this.clients.stsWith({ accessKeyId, secretAccessKey });
    // The budget counts the time spent waiting between attempts (each attempt is one fast call).
    let waited = 0;
    let delay = 1000;
    let lastError = '';
    for (let attempt = 1; ; attempt += 1) {
      try {
        const identity = await sts.send(new GetCallerIdentityCommand({}));
        const arnUser = identity.Arn?.split('/').pop();
        if (arnUser !== this.userName) {
          throw new WatchpointError(`Key ${last4(accessKeyId)} belongs to ${identity.Arn ?? 'an unknown identity'}, not to ${this.userName}.`, {
            code: 'RUNPOD_KEY_MISMATCH',
            fault: 'system',
            fix: 'SSM holds a key of another identity. Run --status, then create a fresh key.',
          });
        }
        this.io.notify('success', `Key ${last4(accessKeyId)} authenticates as ${this.userName} (attempt ${attempt}).`);
        return true;
      } catch (error) {
        if (error instanceof WatchpointError) throw error;
        lastError = error instanceof Error ? error.name : String(error);
      }
      const remaining = this.options.timeoutMs - waited;
      if (remaining <= 0) break;
      const wait = Math.min(delay, remaining);
      this.io.notify('info', `Key ${last4(accessKeyId)} does not authenticate yet (${lastError}); retrying in ${Math.ceil(wait / 1000)} s ...`);
      await this.sleep(wait);
      waited += wait;
      delay = Math.min(delay * 2, 16_000);
    }
    this.io.notify('error', `Key ${last4(accessKeyId)} still does not authenticate after ${Math.round(this.options.timeoutMs / 1000)} s (last error: ${lastError}).`);
    this.io.notify('info', `New keys usually work within seconds. Re-run \`${this.command('verify', ' --timeout 300')}\`; if it keeps failing, run --status and check the key is active.`);
    return false;
  }

  // ---- deactivate / reactivate --------------------------------------------------------------

  private async deactivate(snap: Snapshot, analysis: Analysis): Promise<number> {
    if (analysis.state === 'deactivated') {
      this.io.result(`The old key ${last4(analysis.other!.id)} is already inactive. Next: \`${this.command('delete')}\`.`);
      return ExitCode.ok;
    }
    if (snap.keys.length <= 1) {
      this.io.result('Nothing to deactivate: there is no old key (the only key stays active).');
      return ExitCode.ok;
    }
    const verdict = canDeactivate(analysis);
    if (!verdict.allowed) {
      if (!(verdict.forceable && this.options.force)) this.refuse('deactivate', verdict);
      for (const reason of verdict.reasons) this.io.notify('warn', reason);
      this.io.notify('warn', `Going ahead because of --force. Undo with \`${this.command('reactivate')}\`.`);
    } else {
      for (const reason of verdict.reasons) this.io.notify('info', `  ${reason}`);
    }
    const old = analysis.other!;
    const current = analysis.current!;
    const ok = await this.io.ask({
      kind: 'confirm',
      dangerous: true,
      default: !verdict.forceable,
      message: `Deactivate the old key ${last4(old.id)}? ${last4(current.id)} stays active; reversible with --stage reactivate.`,
    });
    if (!ok) {
      this.io.notify('info', 'Nothing changed.');
      return ExitCode.failure;
    }
    await this.step(`iam:UpdateAccessKey ${this.userName} ${last4(old.id)} Status=Inactive`, async () => {
      await this.setStatus(old, 'Inactive');
      this.io.result(`Deactivated ${last4(old.id)}. If uploads fail, \`${this.command('reactivate')}\` undoes it. Later: \`${this.command('delete')}\`.`);
    });
    return ExitCode.ok;
  }

  private async reactivate(snap: Snapshot): Promise<number> {
    const inactive = snap.keys.filter((key) => key.status === 'Inactive');
    if (inactive.length === 0) {
      this.io.result('Every key is already active; nothing to reactivate.');
      return ExitCode.ok;
    }
    const ok = await this.io.ask({ kind: 'confirm', default: true, message: `Reactivate ${inactive.map((key) => last4(key.id)).join(' and ')}?` });
    if (!ok) {
      this.io.notify('info', 'Nothing changed.');
      return ExitCode.failure;
    }
    for (const key of inactive) {
      await this.step(`iam:UpdateAccessKey ${this.userName} ${last4(key.id)} Status=Active`, async () => {
        await this.setStatus(key, 'Active');
        this.io.result(`Reactivated ${last4(key.id)}.`);
      });
    }
    return ExitCode.ok;
  }

  // ---- delete -------------------------------------------------------------------------------

  private async delete(snap: Snapshot, analysis: Analysis): Promise<number> {
    if (snap.keys.length <= 1) {
      this.io.result('Nothing to delete: there is no old key. The rotation is complete.');
      return ExitCode.ok;
    }
    const verdict = canDelete(analysis, snap.now);
    if (!verdict.allowed) {
      if (!(verdict.forceable && this.options.force)) this.refuse('delete', verdict);
      for (const reason of verdict.reasons) this.io.notify('warn', reason);
      this.io.notify('warn', 'Going ahead because of --force.');
    } else {
      for (const reason of verdict.reasons) this.io.notify('info', `  ${reason}`);
    }
    const old = analysis.other!;
    const ok = await this.io.ask({
      kind: 'confirm',
      dangerous: true,
      default: false,
      message: `Delete the old key ${last4(old.id)} for good? This cannot be undone.`,
    });
    if (!ok) {
      this.io.notify('info', 'Nothing changed.');
      return ExitCode.failure;
    }
    await this.step(`iam:DeleteAccessKey ${this.userName} ${last4(old.id)}`, async () => {
      await this.deleteKey(old);
      this.io.result(`Deleted ${last4(old.id)}. The rotation is complete; ${last4(analysis.current!.id)} is the only key.`);
    });
    return ExitCode.ok;
  }
}

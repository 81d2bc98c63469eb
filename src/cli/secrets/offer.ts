// The end of `watchpoint init` on a terminal: offer to set the required secrets that are missing.
// Every answer is gathered first, then the values are written; a failure here never undoes init.
import { randomBytes } from 'node:crypto';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { StageConfig } from '../../config/schema.ts';
import { findSecret, generateSecretValue, secretPath, valueProblems, type SecretEntry } from '../../config/secrets-catalogue.ts';
import { awsClientConfig } from '../aws.ts';
import { formatError, isPromptCancel } from '../errors.ts';
import type { Io } from '../io.ts';
import { checkSecrets } from './check.ts';
import { explainSsmError, putValue } from './ssm.ts';
import { notReadyFix } from './report.ts';

export interface OfferOptions {
  io: Io;
  envName: string;
  stage: StageConfig;
  ssm?: SSMClient;
  randomBytes?: (size: number) => Buffer;
}

/** Returns the names written. Never throws for AWS trouble: it says what to run later instead. */
export async function offerMissingSecrets(options: OfferOptions): Promise<string[]> {
  const { io, envName, stage } = options;
  const later = `\`watchpoint secrets check --env ${envName}\``;
  const go = await io.ask({ kind: 'confirm', message: `Check the secrets of "${envName}" in SSM now and set the missing ones? (uses your AWS credentials)`, default: true });
  if (!go) {
    io.notify('info', `Skipped. Run ${later} before deploying.`);
    return [];
  }
  let ssm = options.ssm;
  if (!ssm) {
    const { SSMClient } = await import('@aws-sdk/client-ssm');
    ssm = new SSMClient(awsClientConfig(stage));
  }
  let missing: SecretEntry[];
  try {
    const report = await checkSecrets({ ssm, envName, stage });
    missing = report.secrets.filter((s) => s.status === 'missing').map((s) => findSecret(s.name)!);
    const invalid = report.secrets.filter((s) => s.status === 'invalid').map((s) => s.name);
    if (invalid.length > 0) io.notify('warn', `Set but not valid: ${invalid.join(', ')}. Fix with \`watchpoint secrets set <name> --env ${envName} --overwrite\`.`);
  } catch (error) {
    io.notify('warn', `Could not read the secrets (the config is written):\n${formatError(error)}\nRun ${later} once that is fixed.`);
    return [];
  }
  if (missing.length === 0) {
    io.notify('success', `Every required secret of "${envName}" is set.`);
    return [];
  }
  io.notify('info', `Missing required secrets: ${missing.map((e) => e.name).join(', ')}`);

  // Ask for everything first; an empty answer skips that secret.
  const values: { entry: SecretEntry; value: string }[] = [];
  for (const entry of missing) {
    if (entry.generatable && (await io.ask({ kind: 'confirm', message: `Generate ${entry.name} (48 random bytes)?`, default: true }))) {
      values.push({ entry, value: generateSecretValue(options.randomBytes ?? randomBytes) });
      continue;
    }
    const value = await io.ask({
      kind: 'secret',
      field: `The value for ${entry.name}`,
      message: `${entry.name} (${entry.description}; input hidden, empty to skip)`,
      noTerminalFix: `Run \`watchpoint secrets set ${entry.name} --env ${envName} --stdin\`.`,
      validate: (candidate) => {
        if (candidate === '') return true;
        const { errors, modeMismatch } = valueProblems(entry, candidate, envName);
        if (modeMismatch) errors.push(`${modeMismatch.replace(/ \(.*\)$/, '')} (use \`watchpoint secrets set --force\` if you mean it)`);
        return errors.length === 0 ? true : `The value ${errors.join('; ')}`;
      },
    });
    if (value !== '') values.push({ entry, value });
  }

  const written: string[] = [];
  for (const { entry, value } of values) {
    const path = secretPath(envName, entry.name);
    try {
      await putValue(ssm, { path, envName, existing: undefined, kmsKeyId: undefined, bytes: Buffer.byteLength(value, 'utf8') }, value, (text) => io.notify('warn', text));
      written.push(entry.name);
      io.notify('success', `  set ${entry.name}`);
    } catch (error) {
      if (isPromptCancel(error)) throw error;
      const explained = explainSsmError(error, { envName, action: 'PutParameter', path, region: stage.region, secrets: values.map((v) => v.value) });
      io.notify('warn', `Could not write ${entry.name}:\n${formatError(explained)}`);
    }
  }
  const skipped = missing.filter((e) => !written.includes(e.name)).map((e) => e.name);
  if (skipped.length > 0) io.notify('warn', `Still missing: ${skipped.join(', ')}. ${notReadyFix(envName, skipped)}`);
  return written;
}

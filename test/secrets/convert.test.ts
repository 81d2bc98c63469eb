// A plaintext (String) secret is converted to a SecureString by delete-and-recreate, after a
// confirmation that says the version history is lost. moto lets PutParameter change a type in place;
// AWS does not ("Parameter Store does not support changing a parameter type in a hierarchy. For
// example, you can't change a parameter from a String type to a SecureString type",
// HierarchyTypeMismatchException; https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html),
// so a middleware on the client gives PutParameter that AWS answer when the stored type differs.
import { GetParameterCommand, GetParameterHistoryCommand, HierarchyTypeMismatchException, ListTagsForResourceCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from 'vitest';
import { secretsCommand } from '../../src/cli/commands/secrets.ts';
import { formatError } from '../../src/cli/errors.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { tempDir, writeConfig, VALID_DEV } from '../helpers/cli.ts';
import { motoClient, uniqueEnvName } from '../helpers/moto.ts';

const plain = motoClient(SSMClient);

/** moto behind AWS's rule: an overwrite may not change the parameter's type. */
function awsLikeSsm(): SSMClient {
  const client = motoClient(SSMClient);
  client.middlewareStack.add((next, context) => async (args) => {
    const input = args.input as { Name?: string; Type?: string; Overwrite?: boolean };
    if ((context as { commandName?: string }).commandName === 'PutParameterCommand' && input.Overwrite) {
      const stored = await plain.send(new GetParameterCommand({ Name: input.Name })).then((r) => r.Parameter?.Type, () => undefined);
      if (stored && input.Type && stored !== input.Type) {
        throw new HierarchyTypeMismatchException({ message: 'The parameter type specified in the request does not match the existing parameter type.', $metadata: { httpStatusCode: 400 } });
      }
    }
    return next(args);
  }, { step: 'initialize', name: 'hierarchyTypeMismatch' });
  return client;
}

let cwd: string;
let envName: string;
let path: string;
beforeEach(async () => {
  cwd = await tempDir();
  envName = uniqueEnvName();
  await writeConfig(cwd, { [envName]: VALID_DEV });
  path = `/${envName}/watchpoint/auth/session_key`;
  await plain.send(new PutParameterCommand({ Name: path, Value: 'old-plaintext-session-key-0123456789abcdef', Type: 'String' }));
  await plain.send(new PutParameterCommand({ Name: path, Value: 'old-plaintext-session-key-0123456789abcdeg', Type: 'String', Overwrite: true }));
});

async function set(io: RecordingIo, flags: Record<string, unknown>, ssm = awsLikeSsm()) {
  try {
    return { code: await secretsCommand({ io, options: { env: envName, ...flags }, env: {}, cwd, action: 'set', name: 'auth/session_key', flags: { generate: true, ...flags }, ssm }), error: undefined };
  } catch (error) {
    return { code: -1, error };
  }
}

describe('secrets set on a String parameter', () => {
  it('asks, saying the history is lost, then deletes and re-creates it as a SecureString with the tags', async () => {
    const io = new RecordingIo([true], true);
    const { code, error } = await set(io, { overwrite: true });
    expect(error).toBeUndefined();
    expect(code).toBe(0);
    const confirm = io.questions.find((q) => q.kind === 'confirm')!;
    expect(confirm.message).toMatch(/Delete auth\/session_key \(String, version 2\) and create it again as a SecureString\? Its version history is lost\./);
    const stored = (await plain.send(new GetParameterCommand({ Name: path, WithDecryption: true }))).Parameter!;
    expect(stored).toMatchObject({ Type: 'SecureString', Version: 1 });
    expect(stored.Value).not.toContain('old-plaintext');
    const history = await plain.send(new GetParameterHistoryCommand({ Name: path }));
    expect(history.Parameters).toHaveLength(1);
    const tags = (await plain.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: path }))).TagList;
    expect(tags).toEqual(expect.arrayContaining([{ Key: 'app', Value: 'watchpoint' }, { Key: 'env', Value: envName }]));
    expect(io.stdout).toContain('as a SecureString');
    expect(io.stdout + io.stderr).not.toContain(stored.Value!);
  });

  it('declining changes nothing; without a terminal it needs --yes', async () => {
    const declined = await set(new RecordingIo([false], true), { overwrite: true });
    expect(declined.code).toBe(0);
    const noTty = await set(new RecordingIo([], false), { overwrite: true });
    expect(noTty.code).toBe(-1);
    const stored = (await plain.send(new GetParameterCommand({ Name: path }))).Parameter!;
    expect(stored).toMatchObject({ Type: 'String', Version: 2 });
  });

  it('a create that fails after the delete puts the old value back', async () => {
    const ssm = awsLikeSsm();
    let puts = 0;
    ssm.middlewareStack.add((next, context) => async (args) => {
      if ((context as { commandName?: string }).commandName === 'PutParameterCommand' && (args.input as { Type?: string }).Type === 'SecureString' && (puts += 1) === 1) {
        throw Object.assign(new Error('User is not authorized to perform kms:Encrypt'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
      }
      return next(args);
    }, { step: 'initialize', name: 'kmsDenied', priority: 'high' });
    const { error } = await set(new RecordingIo([true], true), { overwrite: true }, ssm);
    expect(formatError(error)).toContain('the old String value was put back');
    const stored = (await plain.send(new GetParameterCommand({ Name: path }))).Parameter!;
    expect(stored).toMatchObject({ Type: 'String', Value: 'old-plaintext-session-key-0123456789abcdeg' });
  });

  it('the HierarchyTypeMismatchException from an in-place overwrite is explained with the way out', async () => {
    const { explainSsmError } = await import('../../src/cli/secrets/ssm.ts');
    const explained = explainSsmError(new HierarchyTypeMismatchException({ message: 'type mismatch', $metadata: {} }), { envName, action: 'PutParameter', path });
    expect(explained).toMatchObject({ code: 'SECRET_TYPE_MISMATCH' });
    expect(explained.fix).toContain('watchpoint secrets set <name> --overwrite');
  });
});

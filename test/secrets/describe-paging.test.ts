// Looking up one parameter follows DescribeParameters' NextToken. AWS documents that a filtered page
// can hold zero items and a NextToken ("The number of items returned, however, can be between zero
// and the value of MaxResults. If the service reaches an internal limit while processing the results,
// it stops the operation and returns the matching values up to that point and a NextToken";
// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeParameters.html).
// moto always answers in one page, so a middleware answers the first DescribeParameters with exactly
// that shape; the next pages reach moto.
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { parameterNames, readSsm } from '../../src/cli/runpod/aws.ts';
import { describeOne } from '../../src/cli/secrets/ssm.ts';
import { motoClient, uniqueEnvName } from '../helpers/moto.ts';

/** An SSM client on moto whose first `emptyPages` DescribeParameters answers are empty pages with a NextToken. */
function withEmptyFirstPages(emptyPages: number): { client: SSMClient; describes: () => number } {
  const client = motoClient(SSMClient);
  let calls = 0;
  client.middlewareStack.add((next, context) => async (args) => {
    if ((context as { commandName?: string }).commandName !== 'DescribeParametersCommand') return next(args);
    calls += 1;
    if (calls <= emptyPages) return { output: { Parameters: [], NextToken: `page-${calls}`, $metadata: { httpStatusCode: 200 } }, response: {} } as never;
    // moto does not know our tokens: the rest of the listing is its one page.
    const { NextToken: _token, ...input } = args.input as { NextToken?: string };
    return next({ ...args, input: input as typeof args.input });
  }, { step: 'initialize', name: 'emptyFirstPages' });
  return { client, describes: () => calls };
}

describe('DescribeParameters paging for one parameter', () => {
  it('secrets: describeOne finds a parameter behind empty pages, and says "not set" only after the last page', async () => {
    const envName = uniqueEnvName();
    const path = `/${envName}/watchpoint/billing/stripe_secret_key`;
    const setup = motoClient(SSMClient);
    await setup.send(new PutParameterCommand({ Name: path, Value: 'sk_test_x', Type: 'SecureString' }));
    const paged = withEmptyFirstPages(2);
    expect(await describeOne(paged.client, path)).toMatchObject({ path, version: 1, type: 'SecureString' });
    expect(paged.describes()).toBe(3);
    const missing = withEmptyFirstPages(1);
    expect(await describeOne(missing.client, `/${envName}/watchpoint/nothing/here`)).toBeUndefined();
    expect(missing.describes()).toBe(2);
  });

  it('rotate-keys: the stored secret is seen behind an empty first page', async () => {
    const envName = uniqueEnvName();
    const names = parameterNames(envName);
    const setup = motoClient(SSMClient);
    await setup.send(new PutParameterCommand({ Name: names.keyId, Value: 'AKIAEXAMPLEEXAMPLE12', Type: 'SecureString' }));
    await setup.send(new PutParameterCommand({ Name: names.secret, Value: 'secret-value', Type: 'SecureString' }));
    const paged = withEmptyFirstPages(1);
    const info = await readSsm(paged.client, names);
    expect(info).toMatchObject({ keyId: 'AKIAEXAMPLEEXAMPLE12', secretExists: true });
    expect(JSON.stringify(info)).not.toContain('secret-value');
  });
});

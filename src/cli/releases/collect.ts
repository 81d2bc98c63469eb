// What `releases` and `rollback` read from AWS: the ledger's records and whether each release can
// still be restored (its templates in the ledger, its zip assets in the CDK bootstrap bucket, its
// image in ECR). Each distinct artifact is checked once, a few at a time.
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { S3Client } from '@aws-sdk/client-s3';
import type { STSClient } from '@aws-sdk/client-sts';
import { userError, WatchpointError } from '../errors.ts';
import { evalWorkerRepositoryName } from '../deploy/image.ts';
import { ledgerFor, type Ledger } from './ledger.ts';
import { currentRelease, type ReleaseRecord } from './record.ts';

export interface ReleaseClients {
  sts: STSClient;
  s3: S3Client;
  ecr: ECRClient;
}

export interface Restorable {
  ok: boolean;
  /** Why not, one line per missing artifact. */
  reasons: string[];
}

export interface LedgerView {
  envName: string;
  account: string;
  region: string;
  ledger: Ledger;
  records: ReleaseRecord[];
  current: ReleaseRecord | undefined;
}

/** STS for the account, then the ledger's newest `limit` records. Exit 2 when the environment has no ledger yet. */
export async function readLedger(clients: ReleaseClients, envName: string, region: string, limit?: number): Promise<LedgerView> {
  const { GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const identity = await clients.sts.send(new GetCallerIdentityCommand({}));
  if (!identity.Account) throw new WatchpointError('STS GetCallerIdentity returned no account.', { code: 'STS_NO_ACCOUNT', fault: 'system', fix: 'Check the credentials (aws sts get-caller-identity), then run the command again.' });
  const ledger = ledgerFor(clients.s3, envName, identity.Account, region);
  const records = await ledger.list(limit);
  if (!records) {
    throw userError(
      'NO_RELEASE_LEDGER',
      `"${envName}" has no release ledger in account ${identity.Account}, region ${region} (no bucket ${ledger.bucket}): it has not been deployed by a CLI that records releases.`,
      `Deploy it with \`watchpoint deploy --env ${envName}\`; its registry stack creates the ledger and the deploy records release #1. Check --env and --region if it should exist.`,
    );
  }
  // The current release may be older than the newest `limit`; look further only when it is.
  let current = currentRelease(records);
  if (!current && limit !== undefined && records.length === limit) current = currentRelease((await ledger.list()) ?? []);
  return { envName, account: identity.Account, region, ledger, records, current };
}

/** Whether each release's artifacts still exist. */
export async function checkRestorable(clients: ReleaseClients, view: LedgerView, records: readonly ReleaseRecord[]): Promise<Map<number, Restorable>> {
  const templates = new Set<string>();
  const assets = new Map<string, { bucket: string; key: string }>();
  const tags = new Set<string>();
  for (const record of records) {
    tags.add(record.imageTag);
    for (const stack of record.stacks) {
      templates.add(stack.templateKey);
      for (const asset of stack.zipAssets) assets.set(`${asset.bucket}/${asset.key}`, asset);
    }
  }
  const templateFound = await limited([...templates], (key) => view.ledger.hasTemplate(key));
  const assetFound = await limited([...assets.values()], (asset) => objectExists(clients.s3, asset.bucket, asset.key));
  const images = await imagesPresent(clients.ecr, evalWorkerRepositoryName(view.envName), [...tags]);
  const out = new Map<number, Restorable>();
  for (const record of records) {
    const reasons: string[] = [];
    if (!images.get(record.imageTag)) reasons.push(`image ${evalWorkerRepositoryName(view.envName)}:${record.imageTag} is no longer in ECR (the repository keeps the newest 10)`);
    for (const stack of record.stacks) {
      if (!templateFound.get(stack.templateKey)) reasons.push(`${stack.stackName}'s template ${stack.templateKey} is missing from the ledger`);
      const gone = stack.zipAssets.filter((asset) => !assetFound.get(asset));
      if (gone.length > 0) reasons.push(`${stack.stackName}: ${gone.length} zip asset(s) gone from ${gone[0]!.bucket} (${gone.map((asset) => asset.key).join(', ')})`);
    }
    out.set(record.sequence, { ok: reasons.length === 0, reasons });
  }
  return out;
}

async function limited<T>(items: T[], check: (item: T) => Promise<boolean>, width = 8): Promise<Map<T, boolean>> {
  const out = new Map<T, boolean>();
  for (let i = 0; i < items.length; i += width) {
    const batch = items.slice(i, i + width);
    const results = await Promise.all(batch.map(check));
    batch.forEach((item, index) => out.set(item, results[index]!));
  }
  return out;
}

async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (name === 'NotFound' || name === 'NoSuchKey' || name === 'NoSuchBucket' || status === 404) return false;
    throw error;
  }
}

/** One DescribeImages per 100 tags; a tag ECR does not have comes back in `failures` (ImageNotFound). */
async function imagesPresent(ecr: ECRClient, repositoryName: string, tags: string[]): Promise<Map<string, boolean>> {
  const { DescribeImagesCommand } = await import('@aws-sdk/client-ecr');
  const out = new Map<string, boolean>(tags.map((tag) => [tag, false]));
  for (let i = 0; i < tags.length; i += 100) {
    try {
      const page = await ecr.send(new DescribeImagesCommand({ repositoryName, imageIds: tags.slice(i, i + 100).map((imageTag) => ({ imageTag })) }));
      for (const detail of page.imageDetails ?? []) for (const tag of detail.imageTags ?? []) if (out.has(tag)) out.set(tag, true);
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      // One missing tag fails the whole call on some implementations; ask for each then.
      if (name === 'ImageNotFoundException') {
        for (const tag of tags.slice(i, i + 100)) {
          const one = await ecr.send(new DescribeImagesCommand({ repositoryName, imageIds: [{ imageTag: tag }] })).then(
            (r) => (r.imageDetails?.length ?? 0) > 0,
            () => false,
          );
          out.set(tag, one);
        }
        continue;
      }
      if (name === 'RepositoryNotFoundException') return out;
      throw error;
    }
  }
  return out;
}

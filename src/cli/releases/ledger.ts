// The release ledger: one S3 bucket per environment, in the registry stack (docs/releases.md).
//   releases/000042.json      one record per deploy or rollback, written once with If-None-Match: *
//   templates/<sha256>.json   each stack template, content-addressed (the same bytes, the same key)
// Two operators recording at once both try the next number; S3 lets exactly one create it and answers
// the other 412 PreconditionFailed, which then takes the number after. Nothing is overwritten.
import type { S3Client } from '@aws-sdk/client-s3';
import { RELEASE_SCHEMA_VERSION, templateKey, type ReleaseDraft, type ReleaseRecord } from './record.ts';

export const RELEASES_PREFIX = 'releases/';
/** How many numbers a write tries past the newest it listed before it lists again. */
const MAX_CLAIMS = 25;

/**
 * Same name as the registry stack's releaseLedgerBucketName (a test keeps them equal); not imported
 * from there, because that module loads aws-cdk-lib, which `releases` and `rollback` must not.
 */
export function releaseLedgerBucketName(envName: string, account: string, region: string): string {
  return `watchpoint-${envName}-ledger-${account}-${region}`;
}

export function releaseKey(sequence: number): string {
  return `${RELEASES_PREFIX}${String(sequence).padStart(6, '0')}.json`;
}

export interface Ledger {
  readonly bucket: string;
  /** The newest `limit` records (default all), newest first. Undefined when the ledger bucket does not exist (nothing deployed yet). */
  list(limit?: number): Promise<ReleaseRecord[] | undefined>;
  /** One record by number, or undefined. */
  get(sequence: number): Promise<ReleaseRecord | undefined>;
  /** Writes a record with the next free number and returns it. */
  append(draft: ReleaseDraft): Promise<ReleaseRecord>;
  /** Stores a template under its content address; an existing copy is left as it is. */
  putTemplate(key: string, body: string): Promise<void>;
  getTemplate(key: string): Promise<string | undefined>;
  hasTemplate(key: string): Promise<boolean>;
}

export function ledgerFor(s3: S3Client, envName: string, account: string, region: string): Ledger {
  return createLedger(s3, releaseLedgerBucketName(envName, account, region));
}

function status(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function named(error: unknown, ...names: string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}

/** 412: the key exists. 409 (AWS): another conditional write to the key is in flight; treat it as taken. */
function taken(error: unknown): boolean {
  return status(error) === 412 || status(error) === 409 || named(error, 'PreconditionFailed', 'ConditionalRequestConflict');
}

function missingBucket(error: unknown): boolean {
  return named(error, 'NoSuchBucket');
}

function missingKey(error: unknown): boolean {
  return named(error, 'NoSuchKey', 'NotFound') || status(error) === 404;
}

export function createLedger(s3: S3Client, bucket: string): Ledger {
  const sdk = () => import('@aws-sdk/client-s3');

  const keys = async (): Promise<string[] | undefined> => {
    const { ListObjectsV2Command } = await sdk();
    const out: string[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: RELEASES_PREFIX, ContinuationToken: token }));
        for (const item of page.Contents ?? []) if (item.Key && /^releases\/\d{6,}\.json$/.test(item.Key)) out.push(item.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      if (missingBucket(error)) return undefined;
      throw error;
    }
    return out;
  };
  const sequenceOf = (key: string) => Number(key.slice(RELEASES_PREFIX.length, -'.json'.length));

  const getText = async (key: string): Promise<string | undefined> => {
    const { GetObjectCommand } = await sdk();
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return (await out.Body?.transformToString('utf8')) ?? '';
    } catch (error) {
      if (missingKey(error)) return undefined;
      throw error;
    }
  };

  return {
    bucket,
    async get(sequence) {
      const text = await getText(releaseKey(sequence));
      if (text === undefined) return undefined;
      const record = JSON.parse(text) as ReleaseRecord;
      return record.schemaVersion === RELEASE_SCHEMA_VERSION && record.sequence === sequence ? record : undefined;
    },
    async list(limit) {
      const found = await keys();
      if (!found) return undefined;
      const sorted = found.sort((a, b) => sequenceOf(b) - sequenceOf(a)).slice(0, limit ?? found.length);
      const records: ReleaseRecord[] = [];
      // A handful at a time: a long history must not open hundreds of sockets at once.
      for (let i = 0; i < sorted.length; i += 8) {
        const batch = await Promise.all(sorted.slice(i, i + 8).map(async (key) => ({ key, text: await getText(key) })));
        for (const { key, text } of batch) {
          if (text === undefined) continue;
          const record = JSON.parse(text) as ReleaseRecord;
          if (record.schemaVersion !== RELEASE_SCHEMA_VERSION || record.sequence !== sequenceOf(key)) continue;
          records.push(record);
        }
      }
      return records;
    },
    async append(draft) {
      const { PutObjectCommand } = await sdk();
      for (let round = 0; round < 3; round += 1) {
        const existing = await keys();
        if (existing === undefined) {
          throw Object.assign(new Error(`The release ledger bucket ${bucket} does not exist.`), { name: 'NoSuchBucket' });
        }
        let next = existing.reduce((max, key) => Math.max(max, sequenceOf(key)), 0) + 1;
        for (let claim = 0; claim < MAX_CLAIMS; claim += 1, next += 1) {
          const record: ReleaseRecord = { ...draft, sequence: next };
          try {
            await s3.send(new PutObjectCommand({ Bucket: bucket, Key: releaseKey(next), Body: `${JSON.stringify(record, null, 2)}\n`, ContentType: 'application/json', IfNoneMatch: '*' }));
            return record;
          } catch (error) {
            if (!taken(error)) throw error;
          }
        }
      }
      throw new Error(`Could not claim a release number in ${bucket}: every number tried was taken by another writer.`);
    },
    async putTemplate(key, body) {
      const { PutObjectCommand } = await sdk();
      try {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json', IfNoneMatch: '*' }));
      } catch (error) {
        // Content-addressed: the copy already there holds these very bytes.
        if (!taken(error)) throw error;
      }
    },
    getTemplate: getText,
    async hasTemplate(key) {
      const { HeadObjectCommand } = await sdk();
      try {
        await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return true;
      } catch (error) {
        if (missingKey(error)) return false;
        throw error;
      }
    },
  };
}

/** The URL CloudFormation reads a ledger template from (TemplateURL; templates over 51,200 bytes need one). */
export function templateUrl(bucket: string, key: string, region: string, endpoint: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  // The same override toolkit-lib honours for an S3 endpoint CloudFormation can read (emulators).
  const override = env.AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION ?? endpoint;
  if (override) return `${override.replace(/\/+$/, '')}/${bucket}/${key}`;
  return `https://${bucket}.s3.${region}.amazonaws.com/${key}`;
}

export { templateKey };

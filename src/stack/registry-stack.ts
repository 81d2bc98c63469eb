import { Aws, CfnOutput, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

export function evalWorkerRepositoryName(envName: string): string {
  return `watchpoint-${envName}-eval-worker`;
}

/**
 * The release ledger's bucket (docs/releases.md). Derived from names the CLI knows before any stack
 * exists (the env, the STS account, the stage's region), so `releases` and `rollback` need no stack
 * output to find it. At most 62 characters: env names are at most 16, regions 14.
 */
export function releaseLedgerBucketName(envName: string, account: string, region: string): string {
  return `watchpoint-${envName}-ledger-${account}-${region}`;
}

export interface RegistryStackProps extends StackProps {
  readonly envName: string;
}

/**
 * Holds the eval-worker image repository, so an image can be pushed before the platform stack
 * (whose functions need that image) is deployed, and the release ledger, which must outlive any
 * platform stack it records.
 */
export class RegistryStack extends Stack {
  public readonly evalWorkerRepository: ecr.Repository;
  public readonly releaseLedger: s3.Bucket;

  constructor(scope: Construct, id: string, props: RegistryStackProps) {
    super(scope, id, props);
    this.evalWorkerRepository = new ecr.Repository(this, 'EvalWorkerRepository', {
      repositoryName: evalWorkerRepositoryName(props.envName),
      imageScanOnPush: true,
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { description: 'Keep only the last 10 images', tagStatus: ecr.TagStatus.ANY, maxImageCount: 10 },
      ],
    });
    new CfnOutput(this, 'EvalWorkerRepositoryUri', {
      value: this.evalWorkerRepository.repositoryUri,
      description: 'ECR URI to push eval-worker images to',
    });

    // Every deploy and rollback writes one record here (src/cli/releases/ledger.ts), with
    // If-None-Match: *, so nothing is ever overwritten; versioning keeps even a deliberate delete
    // recoverable. Kept on destroy: the history outlives the stacks it describes.
    this.releaseLedger = new s3.Bucket(this, 'ReleaseLedger', {
      bucketName: releaseLedgerBucketName(props.envName, Aws.ACCOUNT_ID, Aws.REGION),
      versioned: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.releaseLedger).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Only watchpoint deploy/rollback write the ledger, each record is written once (If-None-Match: *) and names the operator (STS caller ARN), and the bucket is versioned; server access logs would add a second retained bucket to the registry stack for no record the ledger lacks.',
    });
    new CfnOutput(this, 'ReleaseLedgerBucket', {
      value: this.releaseLedger.bucketName,
      description: 'S3 bucket holding the release ledger (watchpoint releases)',
    });
  }
}

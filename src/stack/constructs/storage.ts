import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Noncurrent (overwritten or expired) forecast versions are kept this long for rollback/debugging. */
export const NOWCAST_NONCURRENT_DAYS = 1;
export const MEDIUM_RANGE_NONCURRENT_DAYS = 7;

const secureBucketDefaults = {
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  encryption: s3.BucketEncryption.S3_MANAGED,
  enforceSSL: true,
  removalPolicy: RemovalPolicy.RETAIN,
} as const satisfies s3.BucketProps;

export class Storage extends Construct {
  /** Receives the S3 server access logs of the two data buckets. */
  public readonly accessLogsBucket: s3.Bucket;
  public readonly forecastBucket: s3.Bucket;
  public readonly archiveBucket: s3.Bucket;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogsBucket', {
      ...secureBucketDefaults,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        { id: 'ExpireAccessLogs', expiration: Duration.days(365), abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    Validations.of(this.accessLogsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This is the server access log destination of ForecastBucket and ArchiveBucket; logging it into itself would log its own log deliveries, endlessly.',
    });

    this.forecastBucket = new s3.Bucket(this, 'ForecastBucket', {
      ...secureBucketDefaults,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'forecast-bucket/',
      lifecycleRules: [
        {
          id: 'IntelligentTiering',
          transitions: [{ storageClass: s3.StorageClass.INTELLIGENT_TIERING, transitionAfter: Duration.days(0) }],
        },
        {
          id: 'NowcastExpiration',
          prefix: 'nowcast/',
          expiration: Duration.days(7),
          // In a versioned bucket, expiring the current version only adds a delete marker; without
          // this the data would stay forever as a noncurrent version.
          noncurrentVersionExpiration: Duration.days(NOWCAST_NONCURRENT_DAYS),
        },
        {
          id: 'MediumRangeExpiration',
          prefix: 'medium_range/',
          expiration: Duration.days(90),
          noncurrentVersionExpiration: Duration.days(MEDIUM_RANGE_NONCURRENT_DAYS),
        },
        {
          id: 'Housekeeping',
          expiredObjectDeleteMarker: true,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });

    this.archiveBucket = new s3.Bucket(this, 'ArchiveBucket', {
      ...secureBucketDefaults,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'archive-bucket/',
      lifecycleRules: [
        {
          id: 'GlacierTransition',
          transitions: [{ storageClass: s3.StorageClass.GLACIER, transitionAfter: Duration.days(1) }],
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
  }
}

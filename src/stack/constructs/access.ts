import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from './nag.ts';

export interface AccessProps {
  readonly forecastBucket: s3.IBucket;
}

/** The IAM user RunPod uses to upload forecasts. Access keys are created by hand, never here. */
export class Access extends Construct {
  public readonly runPodServiceUser: iam.User;
  public readonly runPodS3Access: iam.Policy;

  constructor(scope: Construct, id: string, props: AccessProps) {
    super(scope, id);
    this.runPodServiceUser = new iam.User(this, 'RunPodServiceUser');
    const objects = props.forecastBucket.arnForObjects('*');
    this.runPodS3Access = new iam.Policy(this, 'RunPodS3Access', {
      users: [this.runPodServiceUser],
      statements: [
        new iam.PolicyStatement({
          sid: 'RunPodS3Access',
          actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
          resources: [objects],
        }),
      ],
    });
    acknowledgeWildcardResource(
      this.runPodS3Access,
      objects,
      'RunPod writes forecast objects under run-specific keys it chooses, so it needs PutObject/AbortMultipartUpload on every key of ForecastBucket - and nothing else (no read, list or delete).',
    );
  }
}

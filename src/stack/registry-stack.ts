import { CfnOutput, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import type { Construct } from 'constructs';

export function evalWorkerRepositoryName(envName: string): string {
  return `watchpoint-${envName}-eval-worker`;
}

export interface RegistryStackProps extends StackProps {
  readonly envName: string;
}

/**
 * Holds only the eval-worker image repository, so an image can be pushed before the platform stack
 * (whose functions need that image) is deployed.
 */
export class RegistryStack extends Stack {
  public readonly evalWorkerRepository: ecr.Repository;

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
  }
}

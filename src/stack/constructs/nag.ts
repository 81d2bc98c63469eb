import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';

/**
 * cdk-nag 3 acknowledges IAM5 findings one by one, as `AwsSolutions-IAM5[Resource::<flat ARN>]`.
 * This renders an ARN (which may hold tokens) the way cdk-nag flattens it, so an acknowledgement
 * stays exact whether the account is known at synth time or not.
 */
export function iam5ResourceId(scope: IConstruct, arn: string): string {
  return `AwsSolutions-IAM5[Resource::${flattenCfnReference(Stack.of(scope).resolve(arn))}]`;
}

export function iam5ActionId(action: string): string {
  return `AwsSolutions-IAM5[Action::${action}]`;
}

/** Acknowledge the wildcard in one resource ARN of a policy attached to `scope`. */
export function acknowledgeWildcardResource(scope: IConstruct, arn: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: iam5ResourceId(scope, arn), reason });
}

// The SDK side of deploy's ports: STS, CloudFormation and ECR. Clients are injected (tests use
// aws-sdk-client-mock) or built from awsClientConfig(stage); SDK modules load only when used.
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { STSClient } from '@aws-sdk/client-sts';
import { isStackMissing } from '../aws.ts';
import { WatchpointError } from '../errors.ts';
import type { AwsPort, RegistryPort, StackEvent } from './ports.ts';

export const BOOTSTRAP_STACK = 'CDKToolkit';
/** Where the default bootstrap (qualifier hnb659fds) keeps its version; the templates' CheckBootstrapVersion rule reads it. */
export const BOOTSTRAP_VERSION_PARAMETER = '/cdk-bootstrap/hnb659fds/version';
/**
 * The lowest bootstrap version this app's templates and assets deploy with: aws-cdk-lib's
 * DefaultStackSynthesizer requires 6 (MIN_BOOTSTRAP_STACK_VERSION) for deploying and publishing
 * assets, and writes it into each template's CheckBootstrapVersion rule and the assembly manifest.
 */
export const MIN_BOOTSTRAP_VERSION = 6;

export function createAwsPort(clients: { sts: STSClient; cloudformation: CloudFormationClient; ssm?: SSMClient }): AwsPort {
  const stackStatus = async (stackName: string): Promise<string | undefined> => {
    const { DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
    try {
      const out = await clients.cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
      const status = out.Stacks?.[0]?.StackStatus;
      // A deleted stack is visible by ID only; by name it "does not exist", but be safe.
      return status === 'DELETE_COMPLETE' ? undefined : status;
    } catch (error) {
      if (isStackMissing(error)) return undefined;
      throw error;
    }
  };
  return {
    async callerIdentity() {
      const { GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
      const out = await clients.sts.send(new GetCallerIdentityCommand({}));
      if (!out.Account) throw new WatchpointError('STS GetCallerIdentity returned no account.', { code: 'STS_NO_ACCOUNT', fault: 'system' });
      return { account: out.Account, arn: out.Arn ?? '' };
    },
    bootstrapStatus: () => stackStatus(BOOTSTRAP_STACK),
    ...(clients.ssm
      ? {
          async bootstrapVersion() {
            const { GetParameterCommand } = await import('@aws-sdk/client-ssm');
            try {
              const out = await clients.ssm!.send(new GetParameterCommand({ Name: BOOTSTRAP_VERSION_PARAMETER }));
              const version = Number(out.Parameter?.Value);
              return Number.isInteger(version) ? version : undefined;
            } catch (error) {
              if (error instanceof Error && error.name === 'ParameterNotFound') return undefined;
              throw error;
            }
          },
        }
      : {}),
    stackStatus,
    async latestStackEvents(stackName) {
      const { DescribeStackEventsCommand } = await import('@aws-sdk/client-cloudformation');
      const events: StackEvent[] = [];
      let token: string | undefined;
      // Newest first; stop at the event that began the latest stack operation (at most 5 pages).
      for (let page = 0; page < 5; page += 1) {
        const out = await clients.cloudformation.send(new DescribeStackEventsCommand({ StackName: stackName, NextToken: token }));
        for (const event of out.StackEvents ?? []) {
          const item: StackEvent = {
            logicalId: event.LogicalResourceId ?? '',
            resourceType: event.ResourceType ?? '',
            status: event.ResourceStatus ?? '',
            reason: event.ResourceStatusReason ?? '',
            timestamp: event.Timestamp ?? new Date(0),
          };
          events.push(item);
          const operationStart = item.resourceType === 'AWS::CloudFormation::Stack' && /_IN_PROGRESS$/.test(item.status) && /User Initiated/i.test(item.reason);
          if (operationStart) return events;
        }
        token = out.NextToken;
        if (!token) break;
      }
      return events;
    },
  };
}

/**
 * An image index (OCI) or manifest list (Docker): what BuildKit pushes when it adds provenance or SBOM
 * attestations (Docker Desktop, the containerd image store, docker-container builders). Lambda accepts
 * only a single image manifest ("The image manifest or layer media type for the source image ... is
 * not supported"; https://docs.aws.amazon.com/lambda/latest/dg/images-create.html: "Lambda does not
 * support multi-architecture container images"), and ECR reports the type as
 * imageDetails[].imageManifestMediaType (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageDetail.html).
 */
export const IMAGE_INDEX_MEDIA_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];

async function region(ecr: ECRClient): Promise<string> {
  try {
    const configured: unknown = typeof ecr.config.region === 'function' ? await ecr.config.region() : ecr.config.region;
    return typeof configured === 'string' ? configured : '<region>';
  } catch {
    return '<region>';
  }
}

/** The tag is content-hashed and immutable, so it must be deleted before a single-manifest image can take it. */
export function imageIsIndex(repositoryName: string, tag: string, mediaType: string, regionName: string): WatchpointError {
  return new WatchpointError(
    `ECR's ${repositoryName}:${tag} is an image index (${mediaType}), not a single image manifest; Lambda cannot run it, so the eval workers would fail to deploy.`,
    {
      code: 'IMAGE_IS_INDEX',
      fault: 'system',
      fix: `Delete that tag (aws ecr batch-delete-image --region ${regionName} --repository-name ${repositoryName} --image-ids imageTag=${tag}), then deploy again: deploy builds single-manifest images (docker build --provenance=false --sbom=false). If you build by hand, add those two flags.`,
    },
  );
}

export function createRegistryPort(ecr: ECRClient): RegistryPort {
  return {
    async hasImage(repositoryName, tag) {
      const { DescribeImagesCommand } = await import('@aws-sdk/client-ecr');
      try {
        const out = await ecr.send(new DescribeImagesCommand({ repositoryName, imageIds: [{ imageTag: tag }] }));
        const details = out.imageDetails ?? [];
        const index = details.find((detail) => IMAGE_INDEX_MEDIA_TYPES.includes(detail.imageManifestMediaType ?? ''));
        if (index) throw imageIsIndex(repositoryName, tag, index.imageManifestMediaType!, await region(ecr));
        return details.length > 0;
      } catch (error) {
        if (error instanceof WatchpointError) throw error;
        const name = error instanceof Error ? error.name : '';
        if (name === 'ImageNotFoundException' || name === 'RepositoryNotFoundException') return false;
        throw error;
      }
    },
    async authorization() {
      const { GetAuthorizationTokenCommand } = await import('@aws-sdk/client-ecr');
      const out = await ecr.send(new GetAuthorizationTokenCommand({}));
      const data = out.authorizationData?.[0];
      if (!data?.authorizationToken || !data.proxyEndpoint) {
        throw new WatchpointError('ECR GetAuthorizationToken returned no token.', { code: 'ECR_NO_TOKEN', fault: 'system', fix: 'Try again; check the ECR service health for the region.' });
      }
      const decoded = Buffer.from(data.authorizationToken, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw new WatchpointError('ECR returned an authorization token in an unknown format.', { code: 'ECR_BAD_TOKEN', fault: 'system' });
      return { registry: new URL(data.proxyEndpoint).host, username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    },
  };
}

// What deploys through toolkit-lib need on moto, made cheaply: the CDK bootstrap toolkit-lib reads,
// and image tags recorded in ECR (moto has an ECR API but no registry, so a "push" is a manifest put
// under the tag). Shared by the hotswap and rollback tests and benches.
import { createHash } from 'node:crypto';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { PutImageCommand, type ECRClient } from '@aws-sdk/client-ecr';

export interface ClientConfig {
  region: string;
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/**
 * A bootstrap as toolkit-lib reads it (assets bucket, version parameter) in one CreateStack: moto
 * runs toolkit-lib's own bootstrap too, but it takes seconds (test/deploy/platform-on-moto.test.ts).
 */
export async function cheapBootstrap(client: ClientConfig, account: string): Promise<void> {
  await new CloudFormationClient(client).send(
    new CreateStackCommand({
      StackName: 'CDKToolkit',
      TemplateBody: JSON.stringify({
        Resources: {
          StagingBucket: { Type: 'AWS::S3::Bucket', Properties: { BucketName: `cdk-hnb659fds-assets-${account}-${client.region}` } },
          CdkBootstrapVersion: { Type: 'AWS::SSM::Parameter', Properties: { Name: '/cdk-bootstrap/hnb659fds/version', Type: 'String', Value: '30' } },
        },
      }),
    }),
  );
}

/** The tag, as ECR sees a push: it names one image manifest (its config digest derived from the tag). */
export async function recordImageTag(ecr: ECRClient, repositoryName: string, imageTag: string): Promise<void> {
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${createHash('sha256').update(imageTag).digest('hex')}`, size: 2 },
    layers: [],
  };
  await ecr.send(new PutImageCommand({ repositoryName, imageTag, imageManifest: JSON.stringify(manifest), imageManifestMediaType: manifest.mediaType }));
}

/** `<registry>/<repository>:<tag>`, as a container CLI pushes it, recorded in ECR. */
export async function recordPushedImage(ecr: ECRClient, image: string): Promise<void> {
  const [repositoryName, imageTag] = image.slice(image.indexOf('/') + 1).split(':') as [string, string];
  await recordImageTag(ecr, repositoryName, imageTag);
}

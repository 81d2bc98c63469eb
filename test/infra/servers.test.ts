// The test servers are up, loopback-only, and speak their protocols.
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { describe, expect, inject, it } from 'vitest';
import { MOTO_ACCOUNT, motoClient, motoEndpoint, uniqueName } from '../helpers/moto.ts';
import { startMoto } from '../helpers/moto-server.ts';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

describe('test servers', () => {
  it('fauxqs serves SQS on 127.0.0.1', async () => {
    const endpoint = inject('fauxqsEndpoint');
    expect(new URL(endpoint).hostname).toBe('127.0.0.1');
    const sqs = new SQSClient({ region: 'eu-west-1', endpoint, credentials });
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `servers-${Date.now()}` }));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'ping' }));
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
    expect(received.Messages?.[0]?.Body).toBe('ping');
  });

  it('aws-ses-v2-local captures SES v2 sends on 127.0.0.1', async () => {
    const endpoint = inject('sesEndpoint');
    expect(new URL(endpoint).hostname).toBe('127.0.0.1');
    const ses = new SESv2Client({ region: 'eu-west-1', endpoint, credentials, requestHandler: { requestTimeout: 5_000 } });
    const subject = `servers-${Date.now()}`;
    await ses.send(new SendEmailCommand({
      FromEmailAddress: 'alerts@example.com',
      Destination: { ToAddresses: ['oncall@example.com'] },
      Content: { Simple: { Subject: { Data: subject }, Body: { Text: { Data: 'hello' } } } },
    }));
    const store = (await (await fetch(`${endpoint}/store`)).json()) as { emails: { subject: string }[] };
    expect(store.emails.some((email) => email.subject === subject)).toBe(true);
  });
});

describe('moto', () => {
  it('serves SSM and STS on 127.0.0.1', async () => {
    const endpoint = motoEndpoint();
    expect(new URL(endpoint).hostname).toBe('127.0.0.1');
    const ssm = motoClient(SSMClient);
    const name = `/${uniqueName('servers')}/probe`;
    await ssm.send(new PutParameterCommand({ Name: name, Value: 'ping', Type: 'SecureString' }));
    const got = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    expect(got.Parameter?.Value).toBe('ping');
    const identity = await motoClient(STSClient).send(new GetCallerIdentityCommand({}));
    expect(identity.Account).toBe(MOTO_ACCOUNT);
  });

  it('a missing moto_server fails with how to install it, never a skip', async () => {
    await expect(startMoto({ command: '/nonexistent/moto_server' })).rejects.toThrow(/moto\[server\]==5\.2\.1/);
  });
});

// The capacity bench's AWS stand-ins, in a process of their own so that the bench process's CPU time
// is the handlers' alone: fauxqs (S3 + SQS), aws-ses-v2-local (SES v2) and a webhook sink that
// answers 200. Prints one JSON line with their URLs; exits when its stdin closes (the bench ended,
// however it ended) or on SIGTERM.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const { buildApp } = await import('fauxqs');
const fauxqs = buildApp({ logger: false, defaultRegion: 'us-east-1' });
const aws = await fauxqs.listen({ host: '127.0.0.1', port: 0 });

const sesModule = (await import('aws-ses-v2-local')) as unknown as { default: { default?: unknown } | unknown };
const startSes = ((sesModule.default as { default?: unknown }).default ?? sesModule.default) as (config: { host: string; port: number }) => Promise<Server>;
const ses = await startSes({ host: '127.0.0.1', port: 0 });

let hooks = 0;
const sink = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    hooks += 1;
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));

// The SES store keeps every mail in memory; the bench clears it between sizes through this route.
process.stdout.write(`${JSON.stringify({ aws, ses: `http://127.0.0.1:${(ses.address() as AddressInfo).port}`, hook: `http://127.0.0.1:${(sink.address() as AddressInfo).port}/capacity` })}\n`);

const stop = async () => {
  sink.closeAllConnections();
  ses.closeAllConnections();
  await Promise.allSettled([fauxqs.close(), new Promise((r) => ses.close(r)), new Promise((r) => sink.close(r))]);
  process.stderr.write(`capacity servers: stopped (${hooks} webhooks received)\n`);
  process.exit(0);
};
process.stdin.on('end', () => void stop());
process.stdin.on('error', () => void stop());
process.stdin.resume();
process.on('SIGTERM', () => void stop());

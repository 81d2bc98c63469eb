// The SSRF guard, the pinned connection and the signature scheme, without a queue or a database.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { postJson } from '../../src/lambdas/webhook-worker/post.ts';
import { computeSignature, signatureHeaders, verifySignature } from '../../src/lambdas/webhook-worker/sign.ts';
import { classifyAddress, policyFromEnv, resolveTarget, STRICT_POLICY, TargetRefusedError } from '../../src/lambdas/webhook-worker/target.ts';
import { classifyResponse, WEBHOOK_TIMEOUT_MS } from '../../src/lambdas/webhook-worker/worker.ts';

describe('classifyAddress', () => {
  it.each([
    ['93.184.216.34', 'public'],
    ['8.8.8.8', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['0.0.0.0', 'reserved'],
    ['::', 'reserved'],
    ['224.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['ff02::1', 'reserved'],
    ['2002:7f00:1::', 'reserved'],
    // IPv4 inside IPv6 reaches the IPv4 address: classified as that address.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['::ffff:8.8.8.8', 'public'],
    ['not-an-ip', 'reserved'],
  ])('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });
});

// Issue 27: every entry of IANA's IPv4 and IPv6 Special-Purpose Address Registries, address by
// address: the first and last address of each range, and the addresses just outside it.
describe('classifyAddress: the IANA special-purpose registries', () => {
  it.each([
    // IPv4 (iana-ipv4-special-registry)
    ['0.0.0.0', 'reserved'], ['0.255.255.255', 'reserved'], ['1.0.0.0', 'public'],
    ['10.0.0.0', 'private'], ['10.255.255.255', 'private'], ['11.0.0.0', 'public'], ['9.255.255.255', 'public'],
    ['100.64.0.0', 'private'], ['100.127.255.255', 'private'], ['100.63.255.255', 'public'], ['100.128.0.0', 'public'],
    ['127.0.0.0', 'loopback'], ['127.255.255.255', 'loopback'], ['128.0.0.0', 'public'],
    ['169.254.0.0', 'link-local'], ['169.254.255.255', 'link-local'], ['169.253.255.255', 'public'], ['169.255.0.0', 'public'],
    ['172.16.0.0', 'private'], ['172.31.255.255', 'private'], ['172.15.255.255', 'public'],
    ['192.0.0.0', 'reserved'], ['192.0.0.7', 'reserved'], ['192.0.0.8', 'reserved'], ['192.0.0.9', 'reserved'], ['192.0.0.10', 'reserved'],
    ['192.0.0.170', 'reserved'], ['192.0.0.171', 'reserved'], ['192.0.0.255', 'reserved'], ['192.0.1.0', 'public'],
    ['192.0.2.0', 'reserved'], ['192.0.2.255', 'reserved'], ['192.0.3.0', 'public'],
    ['192.31.196.0', 'reserved'], ['192.31.196.255', 'reserved'], ['192.31.197.0', 'public'],
    ['192.52.193.0', 'reserved'], ['192.52.193.255', 'reserved'], ['192.52.192.255', 'public'],
    ['192.88.99.0', 'reserved'], ['192.88.99.255', 'reserved'], ['192.88.100.0', 'public'],
    ['192.168.0.0', 'private'], ['192.168.255.255', 'private'], ['192.169.0.0', 'public'],
    ['192.175.48.0', 'reserved'], ['192.175.48.255', 'reserved'], ['192.175.49.0', 'public'],
    ['198.18.0.0', 'reserved'], ['198.19.255.255', 'reserved'], ['198.17.255.255', 'public'], ['198.20.0.0', 'public'],
    ['198.51.100.0', 'reserved'], ['198.51.100.255', 'reserved'], ['198.51.101.0', 'public'],
    ['203.0.113.0', 'reserved'], ['203.0.113.255', 'reserved'], ['203.0.114.0', 'public'],
    ['224.0.0.0', 'reserved'], ['239.255.255.255', 'reserved'], ['223.255.255.255', 'public'],
    ['240.0.0.0', 'reserved'], ['255.255.255.254', 'reserved'], ['255.255.255.255', 'reserved'],
    // IPv6 (iana-ipv6-special-registry)
    ['::', 'reserved'], ['::1', 'loopback'], ['::2', 'reserved'], ['::ffff:ffff', 'reserved'],
    ['::ffff:0:0', 'reserved'], ['::ffff:ffff:ffff', 'reserved'], ['::ffff:1.1.1.1', 'public'], ['::ffff:10.0.0.1', 'private'],
    ['::ffff:0:0:0', 'reserved'], ['::ffff:0:7f00:1', 'loopback'], ['::ffff:0:a9fe:a9fe', 'metadata'], ['::ffff:0:c0a8:1', 'private'], ['::ffff:0:808:808', 'public'],
    ['64:ff9b::', 'reserved'], ['64:ff9b::10.0.0.1', 'private'], ['64:ff9b::8.8.8.8', 'public'], ['64:ff9b::ffff:ffff', 'reserved'],
    ['64:ff9b:1::', 'reserved'], ['64:ff9b:1:ffff:ffff:ffff:ffff:ffff', 'reserved'], ['64:ff9b:1::808:808', 'reserved'], ['64:ff9b:2::', 'public'],
    ['100::', 'reserved'], ['100::ffff:ffff:ffff:ffff', 'reserved'], ['100:0:0:1::', 'reserved'], ['100:0:0:1:ffff:ffff:ffff:ffff', 'reserved'], ['100:0:0:2::', 'public'],
    ['2001::', 'reserved'], ['2001:0:ffff::1', 'reserved'], ['2001:1::1', 'reserved'], ['2001:1::2', 'reserved'], ['2001:1::3', 'reserved'],
    ['2001:2::', 'reserved'], ['2001:3::', 'reserved'], ['2001:4:112::', 'reserved'], ['2001:10::', 'reserved'], ['2001:20::', 'reserved'], ['2001:30::', 'reserved'],
    ['2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'], ['2001:200::', 'public'],
    ['2001:db8::', 'reserved'], ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'], ['2001:db9::', 'public'],
    ['2002::', 'reserved'], ['2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'], ['2003::', 'public'],
    ['2620:4f:8000::', 'reserved'], ['2620:4f:8000:ffff:ffff:ffff:ffff:ffff', 'reserved'], ['2620:4f:8001::', 'public'],
    ['3fff::', 'reserved'], ['3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'], ['3fff:1000::', 'public'], ['3ffe:ffff::', 'public'],
    ['5f00::', 'reserved'], ['5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'], ['5f01::', 'public'],
    ['fc00::', 'private'], ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'private'], ['fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'public'],
    ['fe80::', 'link-local'], ['febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'link-local'], ['fec0::', 'private'], ['feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'private'],
    ['ff00::', 'reserved'], ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
    ['2600::', 'public'], ['2a00:1450:4001:81c::200e', 'public'],
  ])('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });
});

describe('resolveTarget', () => {
  const resolver = (answers: Record<string, string[]>) => async (host: string) =>
    (answers[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  it('accepts https to a public address and pins it', async () => {
    const target = await resolveTarget('https://hooks.example.com:8443/p?q=1', STRICT_POLICY, resolver({ 'hooks.example.com': ['93.184.216.34'] }));
    expect(target).toMatchObject({ hostname: 'hooks.example.com', port: 8443, address: '93.184.216.34', family: 4 });
  });

  it.each([
    ['http://hooks.example.com/', /must use https/],
    ['ftp://hooks.example.com/', /must use https/],
    ['https://user:pw@hooks.example.com/', /must not contain credentials/],
    ['https://internal.example.com/', /private address \(10\.0\.0\.5\)/],
    ['https://mixed.example.com/', /loopback address/],
    ['https://169.254.169.254/latest/meta-data/', /metadata address/],
    ['https://[::ffff:169.254.169.254]/', /metadata address/],
    ['https://[fd00:ec2::254]/', /metadata address/],
    ['https://2130706433/', /loopback address/], // 127.0.0.1 as one number, as WHATWG URL normalises it
    ['https://[::ffff:0:a9fe:a9fe]/', /metadata address/], // IPv4-translated (issue 27)
    ['https://[64:ff9b:1::a9fe:a9fe]/', /reserved address/], // local-use NAT64 (issue 27)
    ['not a url', /not a valid URL/],
  ])('refuses %s', async (url, reason) => {
    const answers = resolver({ 'hooks.example.com': ['93.184.216.34'], 'internal.example.com': ['10.0.0.5'], 'mixed.example.com': ['93.184.216.34', '::1'] });
    const error = await resolveTarget(url, STRICT_POLICY, answers).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TargetRefusedError);
    expect((error as Error).message).toMatch(reason);
  });

  it('the test allowance opens http and loopback only', async () => {
    const allowance = { allowLoopback: true };
    expect((await resolveTarget('http://127.0.0.1:9/x', allowance)).address).toBe('127.0.0.1');
    await expect(resolveTarget('https://169.254.169.254/', allowance)).rejects.toThrow(/metadata/);
    await expect(resolveTarget('https://10.0.0.1/', allowance)).rejects.toThrow(/private/);
  });

  it('a DNS failure is retryable, not a refusal', async () => {
    const error = await resolveTarget('https://nx.example.com/', STRICT_POLICY, async () => {
      throw Object.assign(new Error('x'), { code: 'EAI_AGAIN' });
    }).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(TargetRefusedError);
    expect((error as Error).message).toContain('EAI_AGAIN');
  });
});

describe('policyFromEnv: the test allowance cannot be switched on in a deployed function', () => {
  it.each([
    [{ WEBHOOK_ALLOW_INSECURE_TARGETS: 'loopback', APP_ENV: 'test' }, true],
    [{ WEBHOOK_ALLOW_INSECURE_TARGETS: 'loopback', APP_ENV: 'dev', AWS_LAMBDA_FUNCTION_NAME: 'watchpoint-dev-webhook' }, false],
    [{ WEBHOOK_ALLOW_INSECURE_TARGETS: 'loopback', APP_ENV: 'prod' }, false],
    [{ WEBHOOK_ALLOW_INSECURE_TARGETS: 'true', APP_ENV: 'test' }, false],
    [{ APP_ENV: 'test' }, false],
  ])('%j -> %s', (env, allowed) => {
    expect(policyFromEnv(env).allowLoopback).toBe(allowed);
  });
});

describe('pinned connection', () => {
  it('connects to the checked address, not to a second DNS answer, and sends the host name', async () => {
    const seen: { host?: string; body: string }[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (c: Buffer) => (body += c.toString()));
      request.on('end', () => {
        seen.push({ body, ...(request.headers.host ? { host: request.headers.host } : {}) });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      // pinned.invalid does not resolve in real DNS: only the pinned address can be reached.
      const target = await resolveTarget(`http://pinned.invalid:${port}/hook`, { allowLoopback: true }, async () => [{ address: '127.0.0.1', family: 4 }]);
      const result = await postJson(target, '{"a":1}', { 'Content-Type': 'application/json' }, 2_000);
      expect(result).toEqual({ kind: 'response', status: 204 });
      expect(seen).toEqual([{ host: `pinned.invalid:${port}`, body: '{"a":1}' }]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('https over the pinned address sends SNI for the host name and verifies the certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wp-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=pinned.test', '-addext', 'subjectAltName=DNS:pinned.test'], { stdio: 'ignore' });
    const context = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
    const sni: string[] = [];
    const server = createTlsServer({ ...context, SNICallback: (name, cb) => { sni.push(name); cb(null, createSecureContext(context)); } }, (_request, response) => response.writeHead(204).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const target = await resolveTarget(`https://pinned.test:${port}/hook`, { allowLoopback: true }, async () => [{ address: '127.0.0.1', family: 4 }]);
      const result = await postJson(target, '{}', {}, 2_000);
      // The handshake reached the pinned address with the name, and the self-signed certificate was refused.
      expect(sni).toEqual(['pinned.test']);
      expect(result).toEqual({ kind: 'network', code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
      expect(classifyResponse(result, 2_000).outcome).toBe('retry');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a refused connection is a retryable network error', async () => {
    const target = await resolveTarget('http://127.0.0.1:1/', { allowLoopback: true });
    const result = await postJson(target, '{}', {}, 2_000);
    expect(result).toEqual({ kind: 'network', code: 'ECONNREFUSED' });
    expect(classifyResponse(result, 2_000).outcome).toBe('retry');
  });
});

it('the deployed timeout is 10 s', () => {
  expect(WEBHOOK_TIMEOUT_MS).toBe(10_000);
});

describe('signatures', () => {
  const secret = 'whsec_test_0123456789abcdef0123456789abcdef';
  const body = '{"type":"watchpoint.triggered"}';
  const now = new Date('2026-11-27T06:00:00Z');

  it('signs <timestamp>.<body> with HMAC-SHA256 and verifies it', () => {
    const headers = signatureHeaders(secret, body, now);
    expect(headers['WatchPoint-Timestamp']).toBe('1795759200');
    expect(headers['WatchPoint-Signature']).toBe(`v1=${computeSignature(secret, 1795759200, body)}`);
    const check = (h: Record<string, string>, b = body, at = now) =>
      verifySignature(secret, { timestamp: h['WatchPoint-Timestamp'], signature: h['WatchPoint-Signature'] }, b, { now: at });
    expect(check(headers)).toEqual({ ok: true, timestamp: 1795759200 });
    expect(check(headers, body.replace('triggered', 'triggerex'))).toEqual({ ok: false, reason: 'mismatch' });
    expect(check({ ...headers, 'WatchPoint-Timestamp': '1795759201' })).toEqual({ ok: false, reason: 'mismatch' });
    // A replay after the tolerance window is rejected even with a valid signature.
    expect(check(headers, body, new Date(now.getTime() + 301_000))).toEqual({ ok: false, reason: 'stale' });
    expect(check({ ...headers, 'WatchPoint-Signature': `v0=abc, ${headers['WatchPoint-Signature']}` })).toMatchObject({ ok: true });
    expect(verifySignature('another-secret-another-secret-xx', { timestamp: headers['WatchPoint-Timestamp'], signature: headers['WatchPoint-Signature'] }, body, { now })).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('matches an independent HMAC computation (what a receiver in another language does)', async () => {
    const { createHmac } = await import('node:crypto');
    expect(computeSignature(secret, 1795759200, body)).toBe(createHmac('sha256', secret).update(`1795759200.${body}`).digest('hex'));
  });
});

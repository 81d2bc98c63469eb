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

// SSRF guard for webhook URLs (docs/webhooks.md, "Which URLs are refused"). A URL is only POSTed to
// when it is https and EVERY address its host resolves to is a public unicast address. The address
// checked is the address connected to (the request pins it), so DNS rebinding between the check and
// the connection cannot reach an internal host, and redirects are never followed.
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** Why an address is refused. `loopback` alone can be allowed, and only by the test allowance. */
export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'metadata' | 'reserved';

export interface TargetPolicy {
  /**
   * The test allowance: http:// URLs and loopback addresses are accepted. Never true in a deployed
   * function (see policyFromEnv); private, link-local and metadata addresses stay refused regardless.
   */
  allowLoopback: boolean;
}

export const STRICT_POLICY: TargetPolicy = { allowLoopback: false };

/** The test allowance's switch. The stack never sets it, and a Lambda runtime ignores it. */
export const ALLOWANCE_ENV = 'WEBHOOK_ALLOW_INSECURE_TARGETS';

/**
 * The allowance is honoured only outside a Lambda runtime (AWS_LAMBDA_FUNCTION_NAME is set by every
 * Lambda runtime, LocalStack's included) and never when APP_ENV is prod, so no stack parameter, stage
 * config or console edit of a deployed function can switch the guard off.
 */
export function policyFromEnv(env: NodeJS.ProcessEnv = process.env): TargetPolicy {
  const requested = env[ALLOWANCE_ENV] === 'loopback';
  const inLambda = Boolean(env.AWS_LAMBDA_FUNCTION_NAME);
  return { allowLoopback: requested && !inLambda && env.APP_ENV !== 'prod' };
}

export interface ResolvedTarget {
  url: URL;
  /** Host name for the Host header and TLS SNI/certificate check (no brackets for IPv6). */
  hostname: string;
  port: number;
  /** The checked address the connection must use. */
  address: string;
  family: 4 | 6;
}

export class TargetRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetRefusedError';
  }
}

export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

// --- address classification --------------------------------------------------------------------

function ipv4Bytes(address: string): Uint8Array {
  return Uint8Array.from(address.split('.').map(Number));
}

function ipv6Bytes(address: string): Uint8Array {
  let text = address.split('%')[0]!.toLowerCase();
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    tail.push(...ipv4Bytes(dotted[1]!));
    text = text.slice(0, -dotted[1]!.length);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const [head = '', rest] = text.split('::') as [string, string | undefined];
  const groups = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const missing = 8 - tail.length / 2 - left.length - right.length;
  const words = [...left, ...Array<number>(rest === undefined ? 0 : missing).fill(0), ...right];
  const bytes = new Uint8Array(16);
  words.forEach((word, i) => {
    bytes[i * 2] = word >> 8;
    bytes[i * 2 + 1] = word & 0xff;
  });
  bytes.set(tail, 16 - tail.length);
  return bytes;
}

interface Range {
  bytes: Uint8Array;
  prefix: number;
  kind: Exclude<AddressClass, 'public'>;
}

const range = (cidr: string, kind: Range['kind']): Range => {
  const [address, prefix] = cidr.split('/') as [string, string];
  return { bytes: isIP(address) === 4 ? ipv4Bytes(address) : ipv6Bytes(address), prefix: Number(prefix), kind };
};

// Most specific first: the metadata addresses sit inside link-local and private ranges.
const IPV4_RANGES: Range[] = [
  range('169.254.169.254/32', 'metadata'), // EC2/Lambda instance metadata
  range('169.254.170.2/32', 'metadata'), // ECS task metadata and credentials
  range('127.0.0.0/8', 'loopback'),
  range('10.0.0.0/8', 'private'),
  range('172.16.0.0/12', 'private'),
  range('192.168.0.0/16', 'private'),
  range('100.64.0.0/10', 'private'), // carrier-grade NAT, used inside AWS too
  range('169.254.0.0/16', 'link-local'),
  range('0.0.0.0/8', 'reserved'),
  range('192.0.0.0/24', 'reserved'),
  range('192.0.2.0/24', 'reserved'),
  range('198.18.0.0/15', 'reserved'),
  range('198.51.100.0/24', 'reserved'),
  range('203.0.113.0/24', 'reserved'),
  range('224.0.0.0/4', 'reserved'), // multicast
  range('240.0.0.0/4', 'reserved'), // reserved and broadcast
];

const IPV6_RANGES: Range[] = [
  range('fd00:ec2::254/128', 'metadata'), // EC2 instance metadata over IPv6
  range('::1/128', 'loopback'),
  range('::/128', 'reserved'),
  range('fc00::/7', 'private'), // unique local
  range('fe80::/10', 'link-local'),
  range('fec0::/10', 'private'), // deprecated site-local
  range('ff00::/8', 'reserved'), // multicast
  range('2001:db8::/32', 'reserved'), // documentation
  range('100::/64', 'reserved'), // discard
  range('2001::/32', 'reserved'), // Teredo: tunnels to an IPv4 address we cannot check
  range('2002::/16', 'reserved'), // 6to4: same
  range('::/96', 'reserved'), // deprecated IPv4-compatible
];

const NAT64 = range('64:ff9b::/96', 'reserved');

const matches = (bytes: Uint8Array, r: Range): boolean => {
  for (let bit = 0; bit < r.prefix; bit += 8) {
    const take = Math.min(8, r.prefix - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((bytes[bit / 8] ?? 0) & mask) !== ((r.bytes[bit / 8] ?? 0) & mask)) return false;
  }
  return true;
};

/** The class of an IP address; a name that is not an IP address is `reserved` (never connected to). */
export function classifyAddress(address: string): AddressClass {
  const family = isIP(address.split('%')[0]!);
  if (family === 4) {
    const bytes = ipv4Bytes(address);
    return IPV4_RANGES.find((r) => matches(bytes, r))?.kind ?? 'public';
  }
  if (family === 6) {
    const bytes = ipv6Bytes(address);
    // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) addresses reach the embedded IPv4 one.
    const embedsIpv4 =
      (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) ||
      matches(bytes, NAT64);
    if (embedsIpv4) return classifyAddress(Array.from(bytes.slice(12)).join('.'));
    return IPV6_RANGES.find((r) => matches(bytes, r))?.kind ?? 'public';
  }
  return 'reserved';
}

const allowed = (kind: AddressClass, policy: TargetPolicy): boolean => kind === 'public' || (kind === 'loopback' && policy.allowLoopback);

// --- URL -> checked target -------------------------------------------------------------------------

/**
 * Parses and checks a webhook URL and resolves its host. Throws TargetRefusedError (permanent: the
 * same URL will be refused again) naming the reason, never any part of a secret.
 */
export async function resolveTarget(rawUrl: string, policy: TargetPolicy, resolver: Resolver = systemResolver): Promise<ResolvedTarget> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new TargetRefusedError('webhook URL is not a valid URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowLoopback)) {
    throw new TargetRefusedError(`webhook URL must use https (got ${url.protocol.replace(/:$/, '')})`);
  }
  if (url.username !== '' || url.password !== '') throw new TargetRefusedError('webhook URL must not contain credentials');
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);

  const literal = isIP(hostname);
  const addresses = literal
    ? [{ address: hostname, family: literal }]
    : await resolver(hostname).catch((error: unknown) => {
        // DNS can fail transiently: this is a retryable error, not a refusal.
        throw new Error(`could not resolve the webhook host: ${(error as { code?: string }).code ?? 'lookup failed'}`);
      });
  if (addresses.length === 0) throw new Error('could not resolve the webhook host: no addresses');
  // Every answer must be allowed: a name with one public and one internal address is refused, since
  // which one a connection would get is not ours to choose.
  for (const { address } of addresses) {
    const kind = classifyAddress(address);
    if (!allowed(kind, policy)) {
      throw new TargetRefusedError(`webhook host resolves to a ${kind} address (${address}); only public addresses are allowed`);
    }
  }
  const first = addresses[0]!;
  return { url, hostname, port, address: first.address, family: first.family === 6 ? 6 : 4 };
}

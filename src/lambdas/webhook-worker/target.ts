// SSRF guard for webhook URLs (docs/webhooks.md, "Which URLs are refused"). A URL is only POSTed to
// when it is https and EVERY address its host resolves to is a public unicast address. The address
// checked is the address connected to (the request pins it), so DNS rebinding between the check and
// the connection cannot reach an internal host, and redirects are never followed.
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

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

function ipv6Bytes(address: string): Uint8Array {
  let text = address.toLowerCase();
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    tail.push(...dotted[1]!.split('.').map(Number));
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

type Refused = Exclude<AddressClass, 'public'>;

/**
 * The refused ranges, as net.BlockLists checked in this order (most specific first: the metadata
 * addresses sit inside link-local and private ranges). Every entry of IANA's IPv4 and IPv6
 * Special-Purpose Address Registries is here (iana-ipv4-special-registry and
 * iana-ipv6-special-registry, as updated 2025), "globally reachable" or not: none is a
 * customer's web server. Plus multicast, IPv6 site-local (deprecated) and IPv4-compatible.
 */
const RANGES: readonly [Refused, readonly string[]][] = [
  ['metadata', [
    '169.254.169.254/32', // EC2/Lambda instance metadata
    '169.254.170.2/32', // ECS task metadata and credentials
    'fd00:ec2::254/128', // EC2 instance metadata over IPv6
  ]],
  ['loopback', ['127.0.0.0/8', '::1/128']],
  ['private', [
    '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', // RFC 1918
    '100.64.0.0/10', // shared address space (carrier-grade NAT), used inside AWS too
    'fc00::/7', // unique local
    'fec0::/10', // site-local (deprecated)
  ]],
  ['link-local', ['169.254.0.0/16', 'fe80::/10']],
  ['reserved', [
    // IPv4 special-purpose registry
    '0.0.0.0/8', // "this network"
    '192.0.0.0/24', // IETF protocol assignments (incl. 192.0.0.0/29 DS-Lite, .8 dummy, .9 PCP, .10 TURN, .170/.171 NAT64 discovery)
    '192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', // documentation (TEST-NET-1/2/3)
    '192.31.196.0/24', // AS112-v4
    '192.52.193.0/24', // AMT
    '192.88.99.0/24', // deprecated 6to4 relay anycast
    '192.175.48.0/24', // direct delegation AS112 service
    '198.18.0.0/15', // benchmarking
    '240.0.0.0/4', // reserved (incl. 255.255.255.255/32 limited broadcast)
    '224.0.0.0/4', // multicast
    // IPv6 special-purpose registry
    '::/128', // unspecified
    '::/96', // IPv4-compatible (deprecated)
    '64:ff9b:1::/48', // local-use IPv4/IPv6 translation: the network's own NAT64, to any IPv4 address
    '100::/64', // discard-only
    '100:0:0:1::/64', // dummy IPv6 prefix
    '2001::/23', // IETF protocol assignments (Teredo 2001::/32, PCP/TURN/DNS-SD anycast, benchmarking 2001:2::/48, AMT, AS112, ORCHID, DRIP)
    '2001:db8::/32', '3fff::/20', // documentation
    '2002::/16', // 6to4: tunnels to an IPv4 address we cannot check
    '2620:4f:8000::/48', // direct delegation AS112 service
    '5f00::/16', // segment routing (SRv6) SIDs
    'ff00::/8', // multicast
  ]],
];

function blockList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address, prefix] = cidr.split('/') as [string, string];
    list.addSubnet(address, Number(prefix), isIP(address) === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

const CLASSES: readonly [Refused, BlockList][] = RANGES.map(([kind, cidrs]) => [kind, blockList(cidrs)]);

/**
 * IPv6 ranges whose last 32 bits are an IPv4 address the packet goes to: IPv4-mapped
 * (::ffff:0:0/96), IPv4-translated (::ffff:0:0:0/96, RFC 2765) and the well-known NAT64 prefix
 * (64:ff9b::/96, RFC 6052). The embedded address is classified instead.
 */
const EMBEDS_IPV4 = blockList(['::ffff:0:0/96', '::ffff:0:0:0/96', '64:ff9b::/96']);

/** The class of an IP address; a name that is not an IP address is `reserved` (never connected to). */
export function classifyAddress(raw: string): AddressClass {
  // A zone (fe80::1%eth0) says which interface; the address is what is classified.
  const address = raw.split('%')[0]!;
  const family = isIP(address);
  if (family === 0) return 'reserved';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (type === 'ipv6' && EMBEDS_IPV4.check(address, 'ipv6')) return classifyAddress(Array.from(ipv6Bytes(address).slice(12)).join('.'));
  return CLASSES.find(([, list]) => list.check(address, type))?.[0] ?? 'public';
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

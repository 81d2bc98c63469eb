// Every `fix:` line must be true where it is printed. formatError prints the fix LAST, so a fix that
// points "below" points at nothing; a literal placeholder (<env>, <region>, <account>) where the
// value is known reads as a template, not an instruction. Two walks:
// 1. every fix the source can raise (each `fix:` property, userError's fix argument, each
//    noTerminalFix / build `what`, and every "fix:" inside a message) is read from src/ and checked;
// 2. every branch of the explainers (AWS, SSM, RunPod rotation, missing package) is raised with the
//    error it explains and printed with formatError, checking the printed text around the fix.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainAwsError } from '../../src/cli/aws/explain.ts';
import { AwsCallTimeoutError } from '../../src/cli/aws/calls.ts';
import { formatError, FALLBACK_FIX, WatchpointError } from '../../src/cli/errors.ts';
import { explainRotationError } from '../../src/cli/runpod/aws.ts';
import { explainSsmError } from '../../src/cli/secrets/ssm.ts';

const root = join(import.meta.dirname, '../..');

/** Words that point at text which formatError never prints after the fix, and placeholders for values the CLI knows. */
const POINTS_AT_NOTHING = /\b(below|beneath|underneath)\b|<(env|envName|region|account|stack|stackName)>/i;

/**
 * "above" is true only where the text above says what is meant. Each allowed phrase names what the
 * fix reads and why it is printed above it.
 */
const ABOVE_ALLOWED = [
  /"caused by" line above/, // the error carries a cause, which formatError prints before the fix (checked in part 2)
  /the cause above \(the first failed resource\)/, // deploy: the failed resources are the message's lines
  /the file and line esbuild names above/, // synth: esbuild's report is the message
  /follow the guidance above/, // rotate-keys: the refusal reasons are the message's lines
  /the function log lines above/, // dev --once: printed as the run goes, before the failure notice
  /see the lines above for why it stopped/, // dev --once: the stop reason is printed before it
  /read the lines above for what failed/, // dev --drill: each step is printed as it runs, before this notice
  /"last used" above/, // rotate-keys status: the key table is printed before the error
  /the error and the log tail above/, // invoke: its report (error, log tail) is printed before the failure
];

interface Found { file: string; line: number; kind: string; text: string }

/**
 * A small TypeScript lexer: finds fix expressions in code (not in comments) and returns the literal
 * text of each (string and template parts; interpolations become "${}").
 */
function fixesIn(file: string, source: string): Found[] {
  const found: Found[] = [];
  const lineAt = (index: number) => source.slice(0, index).split('\n').length;
  // Reads a string or template literal at i; returns its text and the index after it.
  const literal = (i: number): { text: string; end: number } => {
    const quote = source[i]!;
    let text = '';
    let j = i + 1;
    while (j < source.length && source[j] !== quote) {
      if (source[j] === '\\') { text += source[j + 1] === 'n' ? '\n' : source[j + 1]; j += 2; continue; }
      if (quote === '`' && source[j] === '$' && source[j + 1] === '{') {
        const inner = expression(j + 2, '}');
        text += '${}' + inner.text;
        j = inner.end + 1;
        continue;
      }
      text += source[j];
      j += 1;
    }
    return { text, end: j + 1 };
  };
  // Reads code up to the `stop` character at depth 0 (or a comma/closer when stop is ','); collects literal text.
  const expression = (i: number, stop: string): { text: string; end: number } => {
    let depth = 0;
    let text = '';
    let j = i;
    while (j < source.length) {
      const c = source[j]!;
      if (c === '"' || c === "'" || c === '`') {
        const lit = literal(j);
        text += ` ${lit.text}`;
        j = lit.end;
        continue;
      }
      if (c === '/' && source[j + 1] === '/') { j = source.indexOf('\n', j); continue; }
      if (c === '/' && source[j + 1] === '*') { j = source.indexOf('*/', j) + 2; continue; }
      if ('([{'.includes(c)) depth += 1;
      else if (')]}'.includes(c)) {
        if (depth === 0) return { text, end: j };
        depth -= 1;
      } else if (depth === 0 && (c === stop || (stop === ',' && c === ';'))) return { text, end: j };
      j += 1;
    }
    return { text, end: j };
  };
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '/' && source[i + 1] === '/') { i = source.indexOf('\n', i); if (i < 0) break; continue; }
    if (c === '/' && source[i + 1] === '*') { i = source.indexOf('*/', i) + 2; continue; }
    if (c === '"' || c === "'" || c === '`') {
      const lit = literal(i);
      // A notice that carries its own "fix:" (printed as the last line of that notice).
      const at = lit.text.search(/(^|\n)\s*fix: /);
      if (at >= 0) found.push({ file, line: lineAt(i), kind: 'inline fix:', text: lit.text.slice(at) });
      else if (/\S fix: /.test(lit.text)) found.push({ file, line: lineAt(i), kind: 'fix inside a message', text: lit.text });
      i = lit.end;
      continue;
    }
    const rest = source.slice(i, i + 40);
    const property = /^(fix|noTerminalFix|what|FALLBACK_FIX)\s*[:=]\s*/.exec(rest);
    const before = source[i - 1] ?? ' ';
    if (property && !/[\w$.]/.test(before)) {
      const expr = expression(i + property[0].length, ',');
      if (expr.text.trim() !== '') found.push({ file, line: lineAt(i), kind: property[1]!, text: expr.text });
      i = expr.end;
      continue;
    }
    const call = /^userError\(/.exec(rest);
    if (call && !/[\w$.]/.test(before)) {
      // userError(code, message, fix?, cause?): the third argument.
      let j = i + call[0].length;
      const args: string[] = [];
      for (;;) {
        const arg = expression(j, ',');
        args.push(arg.text);
        if (source[arg.end] !== ',') { j = arg.end + 1; break; }
        j = arg.end + 1;
      }
      if (args[2] !== undefined && args[2].trim() !== '') found.push({ file, line: lineAt(i), kind: 'userError fix', text: args[2] });
      i = j;
      continue;
    }
    i += 1;
  }
  return found;
}

describe('every fix the source can raise', async () => {
  const files = (await readdir(join(root, 'src'), { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.parentPath.includes(`${join('src', 'lambdas')}`))
    .map((e) => join(e.parentPath, e.name));
  const fixes = (await Promise.all(files.map(async (file) => fixesIn(relative(root, file), await readFile(file, 'utf8'))))).flat();

  it('finds them all (a walk that finds nothing proves nothing)', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(fixes.filter((f) => f.kind === 'fix').length).toBeGreaterThan(60);
    expect(fixes.filter((f) => f.kind === 'userError fix').length).toBeGreaterThan(100);
    expect(fixes.filter((f) => f.kind === 'what' || f.kind === 'noTerminalFix').length).toBeGreaterThan(10);
    expect(fixes.filter((f) => f.kind === 'inline fix:').length).toBeGreaterThanOrEqual(2);
    expect(fixes.some((f) => f.kind === 'FALLBACK_FIX')).toBe(true);
  });

  it('none points below the fix, or at a placeholder for a value the CLI knows', () => {
    const bad = fixes.filter((f) => POINTS_AT_NOTHING.test(f.text)).map((f) => `${f.file}:${f.line} (${f.kind}): ${f.text.trim()}`);
    expect(bad).toEqual([]);
  });

  it('errors carry their fix as a fix, not inside the message (where formatError adds a second, generic one)', () => {
    const bad = fixes.filter((f) => f.kind === 'fix inside a message').map((f) => `${f.file}:${f.line}: ${f.text.trim()}`);
    expect(bad).toEqual([]);
  });

  it('"above" only where what is above is named', () => {
    const bad = fixes
      .filter((f) => /\babove\b/i.test(f.text) && !ABOVE_ALLOWED.some((allowed) => allowed.test(f.text)))
      .map((f) => `${f.file}:${f.line} (${f.kind}): ${f.text.trim()}`);
    expect(bad).toEqual([]);
  });
});

/** An SDK-shaped error, as the AWS SDK v3 raises it. */
function sdkError(name: string, message: string, status = 400): Error {
  return Object.assign(new Error(message), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, requestId: 'req-1' } });
}

/** The printed error, checked as the operator reads it: the fix is the last line and is true for the lines above it. */
function printed(error: unknown): { text: string; fix: string } {
  const text = formatError(error);
  const lines = text.split('\n');
  const fix = lines.at(-1)!;
  expect(fix).toMatch(/^ {2}fix: /);
  expect(lines.slice(0, -1).some((line) => /^ {2}fix: /.test(line))).toBe(false);
  expect(fix).not.toMatch(POINTS_AT_NOTHING);
  if (/"caused by" line above/.test(fix)) expect(text).toMatch(/\n {2}caused by: /);
  return { text, fix: fix.replace(/^ {2}fix: /, '') };
}

describe('every explainer branch, printed', () => {
  const accessDenied = (action: string) => sdkError('AccessDeniedException', `User: arn:aws:iam::123456789012:user/ops is not authorized to perform: ssm:${action} on resource: arn:aws:ssm:eu-west-1:123456789012:parameter/prod/watchpoint/x because no identity-based policy allows it`);

  it('the AWS explainer: each kind of failure gets its own fix, never the fallback', () => {
    const call = { service: 'ssm', action: 'GetParameter', endpoint: 'https://ssm.eu-west-1.amazonaws.com', region: 'eu-west-1', attempt: 1 };
    const cases: [string, unknown, string][] = [
      ['STACK_NOT_FOUND', Object.assign(new Error('Stack with id watchpoint-prod does not exist'), { name: 'ValidationError' }), 'watchpoint deploy --env prod'],
      ['AWS_TIMEOUT', new AwsCallTimeoutError(call, 30_000), 'WATCHPOINT_AWS_TIMEOUT'],
      ['AWS_REGION_NOT_ENABLED', sdkError('OptInRequired', 'not subscribed'), 'Enable'],
      ['AWS_CREDENTIALS', sdkError('ExpiredTokenException', 'The security token included in the request is expired'), 'aws sso login'],
      ['AWS_ACCESS_DENIED', accessDenied('GetParameter'), 'Grant ssm:GetParameter on arn:aws:ssm:eu-west-1:123456789012:parameter/prod/watchpoint/x to arn:aws:iam::123456789012:user/ops'],
      ['AWS_WRONG_ENDPOINT', sdkError('UnknownOperationException', ''), 'A local emulator must implement'],
      ['AWS_THROTTLED', sdkError('ThrottlingException', 'Rate exceeded'), 'Wait a minute'],
      ['AWS_UNREACHABLE', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'Check the network'],
      ['AWS_FAILED', sdkError('InternalFailure', 'boom', 500), 'AWS Health Dashboard'],
      ['AWS_FAILED', sdkError('ValidationException', 'bad thing'), 'Read the AWS message in the "caused by" line above'],
    ];
    expect(cases).toHaveLength(10);
    for (const [code, raw, words] of cases) {
      const explained = explainAwsError(raw, { envName: 'prod', stackName: 'watchpoint-prod' });
      expect(explained).toMatchObject({ code });
      const { fix } = printed(explained);
      expect(fix).toContain(words);
      expect(fix).not.toBe(FALLBACK_FIX);
    }
  });

  it('SSM: DescribeParameters is granted on "*", every other action on the real env\'s parameters; no placeholders', () => {
    const describe = explainSsmError(accessDenied('DescribeParameters'), { envName: 'prod', action: 'DescribeParameters', region: 'eu-west-1' });
    expect(printed(describe).fix).toBe('Grant ssm:DescribeParameters on resource "*" (SSM does not scope it to parameters) to arn:aws:iam::123456789012:user/ops, or switch AWS_PROFILE to a role that has it.');
    const get = explainSsmError(accessDenied('GetParameter'), { envName: 'prod', action: 'GetParameter', region: 'eu-west-1' });
    expect(printed(get).fix).toBe('Grant ssm:GetParameter on arn:aws:ssm:eu-west-1:123456789012:parameter/prod/watchpoint/* to arn:aws:iam::123456789012:user/ops, or switch AWS_PROFILE to a role that has them.');
    // No principal in the message (some endpoints say only "Access denied"): no account to name, so no ARN with a hole in it.
    const bare = explainSsmError(sdkError('AccessDeniedException', 'Access denied'), { envName: 'staging', action: 'PutParameter', region: 'eu-west-1' });
    expect(printed(bare).fix).toBe('Grant ssm:PutParameter on the parameters /staging/watchpoint/* in eu-west-1 to the role you use, or switch AWS_PROFILE to a role that has them.');
  });

  it('SSM: every other branch', () => {
    const raws = ['ParameterNotFound', 'ParameterVersionNotFound', 'ThrottlingException', 'InvalidKeyId', 'ParameterAlreadyExists', 'HierarchyTypeMismatchException', 'ParameterMaxVersionLimitExceeded', 'ValidationException'];
    const codes = raws.map((name) => {
      const explained = explainSsmError(sdkError(name, `${name} happened`), { envName: 'prod', action: 'PutParameter', path: '/prod/watchpoint/x', region: 'eu-west-1' });
      printed(explained);
      return explained.code;
    });
    expect(codes).toEqual(['SECRET_NOT_SET', 'SECRET_VERSION_NOT_FOUND', 'SSM_THROTTLED', 'SSM_KMS_KEY', 'SECRET_CREATED_MEANWHILE', 'SECRET_TYPE_MISMATCH', 'SECRET_VERSION_LIMIT', 'AWS_FAILED']);
  });

  it('RunPod rotation: access denied names the real env and grants DescribeParameters on "*"', () => {
    const explained = explainRotationError(sdkError('AccessDenied', 'User: arn:aws:iam::123456789012:user/ops is not authorized to perform: iam:ListAccessKeys'), 'prod', 'watchpoint-prod-runpod');
    expect(explained).toBeInstanceOf(WatchpointError);
    const { fix } = printed(explained);
    expect(fix).toContain('on the IAM user watchpoint-prod-runpod');
    expect(fix).toContain('on the parameters /prod/watchpoint/forecast/*');
    expect(fix).toContain('ssm:DescribeParameters on resource "*"');
  });
});

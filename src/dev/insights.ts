// The part of CloudWatch Logs Insights the operator commands use, over the local log store:
//   filter EXPR | fields F, ... | sort F [asc|desc] | limit N
// EXPR compares fields (JSON fields of the line, dotted for nested ones, and @timestamp, @message,
// @log, @logStream) with =, !=, <, <=, >, >=, `in [...]` and `not in [...]`, joined by and / or /
// not and parentheses. Any other command, function or operator (stats, parse, like, =~, ...) is
// refused by name, so a query is never half-answered.
// Reference: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html
import { jsonPath, PatternError } from './filter-pattern.ts';
import type { StoredEvent } from './log-store.ts';
import { LOCAL_ACCOUNT } from './aws-layer.ts';

type Expr =
  | { kind: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'not'; inner: Expr }
  | { kind: 'cmp'; field: string; op: string; value: string | number }
  | { kind: 'in'; field: string; negated: boolean; values: (string | number)[] };

export interface InsightsQuery {
  filters: Expr[];
  fields: string[] | undefined;
  sort: { field: string; descending: boolean } | undefined;
  limit: number | undefined;
}

export class QueryError extends PatternError {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedQueryException';
  }
}

const SERVED = 'filter, fields, sort and limit';

/** Splits on pipes outside quotes. */
function commands(query: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (let i = 0; i < query.length; i += 1) {
    const c = query[i]!;
    if (quote) {
      current += c;
      if (c === '\\') current += query[++i] ?? '';
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
      current += c;
    } else if (c === '|') {
      parts.push(current.trim());
      current = '';
    } else current += c;
  }
  if (quote) throw new QueryError(`Unterminated string in the query.`);
  parts.push(current.trim());
  return parts.filter((part) => part !== '');
}

const FIELD = /^@?[A-Za-z_][A-Za-z0-9_.]*$/;

export function parseQuery(query: string): InsightsQuery {
  const parsed: InsightsQuery = { filters: [], fields: undefined, sort: undefined, limit: undefined };
  for (const command of commands(query)) {
    const [, name = '', rest = ''] = /^(\S+)\s*([\s\S]*)$/.exec(command) ?? [];
    switch (name.toLowerCase()) {
      case 'filter':
        parsed.filters.push(parseExpr(rest));
        break;
      case 'fields': {
        const fields = rest.split(',').map((field) => field.trim());
        for (const field of fields) if (!FIELD.test(field)) throw new QueryError(`fields "${field}": watchpoint dev serves plain field names only (no functions or "as").`);
        parsed.fields = [...(parsed.fields ?? []), ...fields];
        break;
      }
      case 'sort': {
        const match = /^(@?[A-Za-z_][A-Za-z0-9_.]*)(?:\s+(asc|desc))?$/i.exec(rest.trim());
        if (!match) throw new QueryError(`sort "${rest}": watchpoint dev serves one field with asc or desc.`);
        parsed.sort = { field: match[1]!, descending: (match[2] ?? 'desc').toLowerCase() === 'desc' };
        break;
      }
      case 'limit': {
        if (!/^\d+$/.test(rest.trim()) || Number(rest) < 1 || Number(rest) > 10_000) throw new QueryError(`limit "${rest}" is not a number from 1 to 10000.`);
        parsed.limit = Number(rest);
        break;
      }
      default:
        throw new QueryError(`The Logs Insights command "${name}" is not served by watchpoint dev (it serves ${SERVED}).`);
    }
  }
  return parsed;
}

interface Token {
  type: 'field' | 'str' | 'num' | 'op' | 'kw' | '(' | ')' | '[' | ']' | ',';
  text: string;
  value?: string | number;
}

function tokenizeExpr(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    let m: RegExpExecArray | null;
    if ((m = /^("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')/.exec(rest))) {
      const raw = m[1]!;
      tokens.push({ type: 'str', text: raw, value: raw.slice(1, -1).replace(/\\(.)/g, '$1') });
    } else if ((m = /^(-?\d+(?:\.\d+)?)(?![A-Za-z_])/.exec(rest))) {
      tokens.push({ type: 'num', text: m[1]!, value: Number(m[1]) });
    } else if ((m = /^(!=|<=|>=|=~|==|=|<|>)/.exec(rest))) {
      if (m[1] === '=~') throw new QueryError('The regular-expression match =~ is not served by watchpoint dev (compare with =, !=, <, >, in).');
      tokens.push({ type: 'op', text: m[1] === '==' ? '=' : m[1]! });
    } else if ((m = /^([()[\],])/.exec(rest))) {
      tokens.push({ type: m[1] as Token['type'], text: m[1]! });
    } else if ((m = /^(@?[A-Za-z_][A-Za-z0-9_.]*)/.exec(rest))) {
      const word = m[1]!;
      if (/^(and|or|not|in)$/i.test(word)) tokens.push({ type: 'kw', text: word.toLowerCase() });
      else if (/^(like)$/i.test(word)) throw new QueryError('The "like" operator is not served by watchpoint dev (compare with =, !=, <, >, in).');
      else if (text.slice(i + word.length).trimStart().startsWith('(')) throw new QueryError(`The function ${word}() is not served by watchpoint dev in a filter.`);
      else tokens.push({ type: 'field', text: word });
    } else if (rest.startsWith('/')) {
      throw new QueryError('Regular expressions (/.../) are not served by watchpoint dev in a filter.');
    } else {
      throw new QueryError(`watchpoint dev cannot read the filter at "${rest.slice(0, 20)}".`);
    }
    i += m[0].length;
  }
  return tokens;
}

function parseExpr(text: string): Expr {
  const tokens = tokenizeExpr(text);
  let at = 0;
  const peek = () => tokens[at];
  const expect = (type: Token['type']) => {
    const token = tokens[at++];
    if (token?.type !== type) throw new QueryError(`filter ${text}: expected ${type}, found "${token?.text ?? 'the end'}".`);
    return token;
  };
  const or = (): Expr => {
    let left = and();
    while (peek()?.type === 'kw' && peek()!.text === 'or') {
      at += 1;
      left = { kind: 'or', left, right: and() };
    }
    return left;
  };
  const and = (): Expr => {
    let left = unary();
    while (peek()?.type === 'kw' && peek()!.text === 'and') {
      at += 1;
      left = { kind: 'and', left, right: unary() };
    }
    return left;
  };
  const unary = (): Expr => {
    const token = peek();
    if (token?.type === 'kw' && token.text === 'not') {
      at += 1;
      return { kind: 'not', inner: unary() };
    }
    if (token?.type === '(') {
      at += 1;
      const inner = or();
      expect(')');
      return inner;
    }
    const field = expect('field').text;
    const op = tokens[at++];
    if (op?.type === 'kw' && (op.text === 'in' || op.text === 'not')) {
      const negated = op.text === 'not';
      if (negated && tokens[at++]?.text !== 'in') throw new QueryError(`filter ${text}: expected "in" after "not".`);
      expect('[');
      const values: (string | number)[] = [];
      while (peek()?.type !== ']') {
        const value = tokens[at++];
        if (value?.type !== 'str' && value?.type !== 'num') throw new QueryError(`filter ${text}: a list holds strings and numbers only.`);
        values.push(value.value!);
        if (peek()?.type === ',') at += 1;
      }
      expect(']');
      return { kind: 'in', field, negated, values };
    }
    if (op?.type !== 'op') throw new QueryError(`filter ${text}: expected a comparison after ${field}, found "${op?.text ?? 'the end'}".`);
    const value = tokens[at++];
    if (value?.type !== 'str' && value?.type !== 'num') throw new QueryError(`filter ${text}: compare ${field} with a quoted string or a number.`);
    return { kind: 'cmp', field, op: op.text, value: value.value! };
  };
  const tree = or();
  if (at !== tokens.length) throw new QueryError(`filter ${text}: unexpected "${tokens[at]!.text}".`);
  return tree;
}

/** The value a field has for one event: the @ system fields, or a (dotted) JSON field of the line. */
export function fieldValue(event: StoredEvent, field: string, json: () => unknown): string | number | undefined {
  switch (field) {
    case '@timestamp':
      return event.timestamp;
    case '@message':
      return event.message;
    case '@log':
      return `${LOCAL_ACCOUNT}:${event.logGroupName}`;
    case '@logStream':
      return event.logStreamName;
    case '@ingestionTime':
      return event.ingestionTime;
    default: {
      const value = jsonPath(json(), field.split('.'));
      if (value === undefined || value === null) return undefined;
      if (typeof value === 'number') return value;
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
    }
  }
}

function compare(actual: string | number | undefined, op: string, expected: string | number): boolean {
  if (actual === undefined) return op === '!=';
  if (typeof expected === 'number' || op !== '=' && op !== '!=') {
    const a = Number(actual);
    const b = Number(expected);
    if (Number.isNaN(a) || Number.isNaN(b)) return op === '!=' ? String(actual) !== String(expected) : false;
    switch (op) {
      case '=': return a === b;
      case '!=': return a !== b;
      case '<': return a < b;
      case '<=': return a <= b;
      case '>': return a > b;
      default: return a >= b;
    }
  }
  return op === '=' ? String(actual) === expected : String(actual) !== expected;
}

function test(expr: Expr, value: (field: string) => string | number | undefined): boolean {
  switch (expr.kind) {
    case 'and': return test(expr.left, value) && test(expr.right, value);
    case 'or': return test(expr.left, value) || test(expr.right, value);
    case 'not': return !test(expr.inner, value);
    case 'in': {
      const actual = value(expr.field);
      const found = actual !== undefined && expr.values.some((v) => String(v) === String(actual));
      return expr.negated ? !found : found;
    }
    default: return compare(value(expr.field), expr.op, expr.value);
  }
}

/** `2026-12-01 18:45:05.022`, as Insights shows @timestamp. */
function insightsTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

export interface QueryOutcome {
  results: { field: string; value: string }[][];
  recordsMatched: number;
  recordsScanned: number;
  bytesScanned: number;
}

/** Runs a parsed query over events already cut to the query's groups and time range. */
export function runQuery(query: InsightsQuery, events: Iterable<StoredEvent>, requestLimit: number | undefined): QueryOutcome {
  const matched: { event: StoredEvent; value: (field: string) => string | number | undefined }[] = [];
  let scanned = 0;
  let bytes = 0;
  for (const event of events) {
    scanned += 1;
    bytes += Buffer.byteLength(event.message);
    let parsed: unknown;
    let done = false;
    const json = () => {
      if (!done) {
        done = true;
        try {
          parsed = event.message.startsWith('{') ? JSON.parse(event.message) : undefined;
        } catch {
          parsed = undefined;
        }
      }
      return parsed;
    };
    const value = (field: string) => fieldValue(event, field, json);
    if (query.filters.every((filter) => test(filter, value))) matched.push({ event, value });
  }
  const sort = query.sort ?? { field: '@timestamp', descending: true };
  matched.sort((a, b) => {
    const x = a.value(sort.field);
    const y = b.value(sort.field);
    const order = x === y ? a.event.seq - b.event.seq : x === undefined ? 1 : y === undefined ? -1 : typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return sort.descending ? -order : order;
  });
  const limit = Math.min(query.limit ?? requestLimit ?? 10_000, requestLimit ?? 10_000);
  const fields = query.fields ?? ['@timestamp', '@message'];
  const results = matched.slice(0, limit).map(({ event, value }) => [
    ...fields.flatMap((field) => {
      const v = value(field);
      if (v === undefined) return [];
      return [{ field, value: field === '@timestamp' || field === '@ingestionTime' ? insightsTime(Number(v)) : String(v) }];
    }),
    { field: '@ptr', value: `local-${event.seq}` },
  ]);
  return { results, recordsMatched: matched.length, recordsScanned: scanned, bytesScanned: bytes };
}

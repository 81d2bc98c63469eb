// CloudWatch Logs filter patterns, as FilterLogEvents and metric filters apply them, for the local
// log store: the empty pattern; unstructured terms (all must appear, case-sensitive), "quoted
// phrases", `?term` (any of them) and `-term` (none of them); and JSON patterns such as
// `{ $.level = "ERROR" || ($.status >= 500 && $.path = "/v1/*") }`. Syntax outside that subset
// (regular expressions `%...%`, space-delimited `[w1, w2]` patterns, IS TRUE / NOT EXISTS, ...)
// is refused by name: a local answer that silently differs from CloudWatch's would mislead.
// Reference: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html

export class PatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidParameterException';
  }
}

export type Matcher = (message: string) => boolean;

export function compilePattern(pattern: string | undefined): Matcher {
  const text = (pattern ?? '').trim();
  if (text === '') return () => true;
  if (text.startsWith('{')) return compileJson(text);
  if (text.startsWith('[')) throw new PatternError(`Space-delimited filter patterns ([w1, w2, ...]) are not served by watchpoint dev: "${text}". Use terms, "quoted phrases" or a JSON pattern { $.field = "value" }.`);
  if (text.includes('%')) throw new PatternError(`Regular expressions in filter patterns (%...%) are not served by watchpoint dev: "${text}". Use terms, "quoted phrases" or a JSON pattern.`);
  return compileTerms(text);
}

function compileTerms(text: string): Matcher {
  const required: string[] = [];
  const optional: string[] = [];
  const excluded: string[] = [];
  const token = /([?-]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))/g;
  for (const match of text.matchAll(token)) {
    const value = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!;
    if (value.includes('"')) throw new PatternError(`Unbalanced quote in filter pattern "${text}".`);
    (match[1] === '?' ? optional : match[1] === '-' ? excluded : required).push(value);
  }
  return (message) =>
    required.every((term) => message.includes(term)) && excluded.every((term) => !message.includes(term)) && (optional.length === 0 || optional.some((term) => message.includes(term)));
}

// --- JSON patterns ------------------------------------------------------------------------------

type Node =
  | { kind: 'and' | 'or'; left: Node; right: Node }
  | { kind: 'cmp'; path: string[]; op: string; value: string | number; quoted: boolean };

interface Token {
  type: 'sel' | 'op' | 'str' | 'num' | 'word' | '(' | ')' | '&&' | '||';
  text: string;
}

function tokenize(body: string, whole: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < body.length) {
    const rest = body.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const match =
      /^(\$(?:\.[A-Za-z0-9_@-]+|\[\d+\])+)/.exec(rest) ??
      /^(&&|\|\|)/.exec(rest) ??
      /^(!=|<=|>=|=|<|>)/.exec(rest) ??
      /^("(?:[^"\\]|\\.)*")/.exec(rest) ??
      /^(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?![A-Za-z0-9_*])/.exec(rest) ??
      /^([()])/.exec(rest) ??
      /^([A-Za-z0-9_.:/*@-]+)/.exec(rest);
    if (!match) throw new PatternError(`watchpoint dev cannot read the JSON filter pattern ${whole} at "${rest.slice(0, 20)}".`);
    const text = match[1]!;
    const type: Token['type'] = text.startsWith('$')
      ? 'sel'
      : text === '&&' || text === '||' || text === '(' || text === ')'
        ? text
        : /^(!=|<=|>=|=|<|>)$/.test(text)
          ? 'op'
          : text.startsWith('"')
            ? 'str'
            : /^-?\d/.test(text) && !Number.isNaN(Number(text))
              ? 'num'
              : 'word';
    tokens.push({ type, text });
    i += text.length;
  }
  return tokens;
}

function compileJson(text: string): Matcher {
  if (!text.endsWith('}')) throw new PatternError(`JSON filter pattern ${text} does not end with }.`);
  const tokens = tokenize(text.slice(1, -1), text);
  let at = 0;
  const peek = () => tokens[at];
  const next = () => tokens[at++];
  const expr = (): Node => {
    let left = term();
    while (peek()?.type === '||') {
      next();
      left = { kind: 'or', left, right: term() };
    }
    return left;
  };
  const term = (): Node => {
    let left = factor();
    while (peek()?.type === '&&') {
      next();
      left = { kind: 'and', left, right: factor() };
    }
    return left;
  };
  const factor = (): Node => {
    const token = next();
    if (token?.type === '(') {
      const inner = expr();
      if (next()?.type !== ')') throw new PatternError(`Unbalanced parentheses in JSON filter pattern ${text}.`);
      return inner;
    }
    if (token?.type !== 'sel') throw new PatternError(`JSON filter pattern ${text}: expected a selector like $.level, found "${token?.text ?? 'the end'}".`);
    const op = next();
    if (op?.type === 'word' && /^(IS|NOT)$/i.test(op.text)) throw new PatternError(`JSON filter pattern ${text}: "${op.text} ..." (IS TRUE/FALSE/NULL, NOT EXISTS) is not served by watchpoint dev; compare with =, !=, <, <=, >, >=.`);
    if (op?.type !== 'op') throw new PatternError(`JSON filter pattern ${text}: expected a comparison after ${token.text}, found "${op?.text ?? 'the end'}".`);
    const value = next();
    if (!value || (value.type !== 'str' && value.type !== 'num' && value.type !== 'word')) throw new PatternError(`JSON filter pattern ${text}: expected a value after ${token.text} ${op.text}.`);
    if (value.type !== 'num' && op.text !== '=' && op.text !== '!=') throw new PatternError(`JSON filter pattern ${text}: ${op.text} compares numbers only.`);
    const path = [...token.text.slice(1).matchAll(/\.([^.[\]]+)|\[(\d+)\]/g)].map((m) => m[1] ?? m[2]!);
    const parsed = value.type === 'num' ? Number(value.text) : value.type === 'str' ? JSON.parse(value.text) as string : value.text;
    return { kind: 'cmp', path, op: op.text, value: parsed, quoted: value.type === 'str' };
  };
  const tree = expr();
  if (at !== tokens.length) throw new PatternError(`JSON filter pattern ${text}: unexpected "${tokens[at]!.text}".`);
  return (message) => {
    if (!message.startsWith('{')) return false;
    let json: unknown;
    try {
      json = JSON.parse(message);
    } catch {
      return false;
    }
    return evaluate(tree, json);
  };
}

/** The value at a JSON path ($.a.b[0]), or undefined. */
export function jsonPath(json: unknown, path: readonly string[]): unknown {
  let current = json;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function wildcard(value: string): RegExp {
  return new RegExp(`^${value.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

function evaluate(node: Node, json: unknown): boolean {
  if (node.kind !== 'cmp') return node.kind === 'and' ? evaluate(node.left, json) && evaluate(node.right, json) : evaluate(node.left, json) || evaluate(node.right, json);
  const actual = jsonPath(json, node.path);
  if (actual === undefined || (actual !== null && typeof actual === 'object')) return false;
  if (typeof node.value === 'number') {
    const number = typeof actual === 'number' ? actual : Number.NaN;
    if (Number.isNaN(number)) return false;
    switch (node.op) {
      case '=': return number === node.value;
      case '!=': return number !== node.value;
      case '<': return number < node.value;
      case '<=': return number <= node.value;
      case '>': return number > node.value;
      default: return number >= node.value;
    }
  }
  const equal = wildcard(node.value).test(String(actual));
  return node.op === '=' ? equal : !equal;
}

// Shared by the property tests: how many runs, generators of JSON texts (valid, near-valid and
// broken), what JavaScript and the README say about a text, and the committed seed corpus in
// native/tests/corpus (the Rust property tests read the same files).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';

/** fast-check settings: `FC_RUNS` runs per property (a few seconds each by default; `npm run
 * fuzz:long` sets many), `FC_SEED` to replay a reported failure. @default 100 runs */
export function runs(defaultRuns = 100): fc.Parameters<unknown> {
  const numRuns = Number(process.env.FC_RUNS ?? defaultRuns);
  const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
  return { numRuns, ...(seed === undefined ? {} : { seed }), endOnFailure: true };
}

/** The lines of `native/tests/corpus/<name>` (JSON lines; `#` starts a comment line). */
export function readCorpus(name: string): unknown[][] {
  const file = path.resolve(__dirname, '..', '..', 'native', 'tests', 'corpus', name);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => JSON.parse(line) as unknown[]);
}

/** serde_json's recursion limit (128) lets 127 levels through; so does the fallback. */
export const MAX_DEPTH = 127;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const STRING_LITERAL = /"(?:[^"\\]|\\[\s\S])*"/g;
const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/** The nesting depth of a parsed value (1 for `[]`, 0 for a scalar). */
export function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value as Record<string, unknown>);
  return 1 + children.reduce((deepest: number, child) => Math.max(deepest, depthOf(child)), 0);
}

/** What of a valid JSON text lies outside its strings, strings emptied: `{"a":[1]}` → `{"":[1]}`.
 * Also reports whether a string literal holds a lone surrogate. */
function skeletonOf(text: string): { skeleton: string; loneSurrogate: boolean } {
  let loneSurrogate = false;
  const skeleton = text.replace(STRING_LITERAL, (literal) => {
    if (LONE_SURROGATE.test(JSON.parse(literal) as string)) loneSurrogate = true;
    return '""';
  });
  return { skeleton, loneSurrogate };
}

/** The deepest nesting of a valid JSON text, as written (a value a repeated key later replaced
 * counts too, as it does for a parser that refuses deep texts). */
export function textDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (const c of skeletonOf(text).skeleton) {
    if (c === '[' || c === '{') deepest = Math.max(deepest, ++depth);
    else if (c === ']' || c === '}') depth--;
  }
  return deepest;
}

/** What a route that echoes its JSON body (readJson / Json<Value>, as the demo's `POST /echo`)
 * must answer for `bytes`, from JavaScript itself and the README's rules:
 * the text of `JSON.stringify(JSON.parse(text))`, or undefined where the text is invalid JSON
 * (not UTF-8, JSON.parse refuses it, or it holds a byte-order mark, nesting deeper than 127, a
 * number beyond a double, a lone surrogate escape: anywhere in the text, even in a value a
 * repeated key replaces, as serde_json reads it). */
export function echoOf(bytes: Uint8Array): string | undefined {
  let text: string;
  let value: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const { skeleton, loneSurrogate } = skeletonOf(text);
  const overflows = (skeleton.match(NUMBER) ?? []).some((number) => !Number.isFinite(Number(number)));
  if (loneSurrogate || overflows || textDepth(text) > MAX_DEPTH) return undefined;
  return JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------------
// Generators.

const hex4 = (unit: number, upper: boolean) => {
  const digits = unit.toString(16).padStart(4, '0');
  return `\\u${upper ? digits.toUpperCase() : digits}`;
};

/** A raw character, escaped only where JSON requires it (a quote, a backslash, a control). */
const raw = (c: string) => (c === '"' || c === '\\' || c < ' ' ? hex4(c.charCodeAt(0), false) : c);

/** Every UTF-16 unit of `c` as a `\uXXXX` escape. */
const escaped = (c: string, upper: boolean) =>
  Array.from({ length: c.length }, (_, i) => hex4(c.charCodeAt(i), upper)).join('');

/** One character of a string literal, written raw or escaped in any legal way, sometimes as a
 * lone surrogate escape. */
const stringPiece: fc.Arbitrary<string> = fc.oneof(
  { weight: 10, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).map(raw) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }).map(raw) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), fc.boolean())
      .map(([c, upper]) => escaped(c, upper)),
  },
  { weight: 3, arbitrary: fc.constantFrom('\\n', '\\t', '\\r', '\\b', '\\f', '\\/', '\\"', '\\\\') },
  { weight: 2, arbitrary: fc.constantFrom('\u2028', '\u2029', '\ufeff', '\u007f', '\u0085', '😀') },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.integer({ min: 0xd800, max: 0xdfff }), fc.boolean()).map(([u, up]) => hex4(u, up)),
  },
);

export const stringText: fc.Arbitrary<string> = fc
  .array(stringPiece, { maxLength: 12 })
  .map((pieces) => `"${pieces.join('')}"`);

/** Numbers in every spelling JSON allows, doubles' edges included. */
export const numberText: fc.Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^-?(0|[1-9][0-9]{0,25})$/),
  fc.stringMatching(/^-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?$/),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => String(x)),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => x.toExponential()),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String),
  fc.constantFrom(
    '-0',
    '1e400',
    '1e-400',
    '5e-324',
    '2.4703282292062328e-324',
    '1.7976931348623157e308',
    '1.7976931348623159e308',
    '9007199254740993',
    '563000000000000.2',
    '1e21',
    '0.0000001',
  ),
);

/** Keys, integer-like ones (which JavaScript lists first) often. */
const keyText: fc.Arbitrary<string> = fc.oneof(
  stringText,
  fc.oneof(fc.nat(20), fc.nat(), fc.constantFrom(4294967294, 4294967295, 4294967296)).map((n) => `"${n}"`),
  fc.constantFrom('"01"', '"-1"', '"1.0"', '"+1"', '"00"', '"__proto__"', '"constructor"'),
);

const ws = fc.constantFrom('', '', '', ' ', '\n', '\t', '\r\n');

/** A JSON text as a person or a program could write it; valid JSON syntax, though its values
 * may be outside what the server accepts (a lone surrogate, a number beyond a double). */
export const jsonText: fc.Arbitrary<string> = fc
  .letrec<{ value: string }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom('null', 'true', 'false'),
      numberText,
      stringText,
      fc
        .array(fc.tuple(ws, tie('value'), ws), { maxLength: 6 })
        .map((items) => `[${items.map(([a, v, b]) => a + v + b).join(',')}]`),
      fc
        .array(fc.tuple(ws, keyText, ws, tie('value')), { maxLength: 6 })
        .map((entries) => `{${entries.map(([a, k, b, v]) => `${a}${k}${b}:${v}`).join(',')}}`),
    ),
  }))
  .value.chain((text) => fc.tuple(ws, ws).map(([before, after]) => before + text + after));

/** `levels` arrays (or arrays and objects) nested around `inner`. */
export const deepText: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 120, max: 136 }), fc.boolean(), jsonText)
  .map(([levels, objects, inner]) => {
    let text = inner;
    for (let level = 0; level < levels; level++) text = objects && level % 2 ? `{"k":${text}}` : `[${text}]`;
    return text;
  });

/** Bytes that are not quite JSON: a valid text with a few edits, stray bytes, broken UTF-8, a
 * byte-order mark. */
export const brokenBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc
    .tuple(
      jsonText,
      fc.array(
        fc.tuple(
          fc.nat(),
          fc.nat(3),
          fc.constantFrom('[', ']', '{', '}', '"', ',', ':', '\\', '-', '.', 'e', '0', ' ', '\u00a0', '\ufeff', 'x'),
        ),
        { minLength: 1, maxLength: 3 },
      ),
    )
    .map(([text, edits]) => {
      let out = text;
      for (const [at, cut, insert] of edits) {
        const i = at % (out.length + 1);
        out = out.slice(0, i) + insert + out.slice(i + cut);
      }
      return Buffer.from(out);
    }),
  fc
    .tuple(
      jsonText,
      fc.nat(),
      fc.constantFrom(
        [0x80],
        [0xc3],
        [0xc0, 0x80],
        [0xed, 0xa0, 0x80],
        [0xf4, 0x90, 0x80, 0x80],
        [0xff],
        [0xef, 0xbb, 0xbf],
      ),
    )
    .map(([text, at, bytes]) => {
      const buffer = Buffer.from(text);
      const i = at % (buffer.length + 1);
      return Buffer.concat([buffer.subarray(0, i), Buffer.from(bytes), buffer.subarray(i)]);
    }),
  fc.uint8Array({ maxLength: 24 }),
  jsonText.map((text) => Buffer.from(`\ufeff${text}`)),
);

// Properties of the SCGI head parser (src/scgi/parser.ts): whatever the bytes and however they
// are split into chunks, it never throws, reaches the same verdict, and gives back exactly the
// variables a valid head holds; the request it accepts is always one the API can take. The long
// run (`npm run fuzz:long`) runs these with many more cases; the hostile table's heads
// (test/scgi/hostile-cases.ts) are among the seeds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  DROPPED_HTTP_VARIABLES,
  FrameParser,
  type FrameResult,
  MAX_BLOCK_BYTES,
  readRequest,
} from '../../src/scgi/parser';
import { encodeScgi, type Pair } from '../helpers/scgi';
import { runs } from '../properties/support';
import { HOSTILE_CASES } from './hostile-cases';

/** Feeds `bytes` cut at `cuts` (offsets, any order) and returns the verdict. */
function feed(bytes: Buffer, cuts: readonly number[] = []): FrameResult {
  const parser = new FrameParser();
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  let start = 0;
  let result: FrameResult = { kind: 'more' };
  for (const point of [...points, bytes.length]) {
    if (point <= start && point !== bytes.length) continue;
    result = parser.push(bytes.subarray(start, point));
    start = point;
    if (result.kind !== 'more') break;
  }
  return result;
}

/** A verdict without Buffers, to compare two. */
function summary(result: FrameResult): unknown {
  if (result.kind !== 'done') return result;
  return { pairs: result.pairs.map(([n, v]) => [n.toString('hex'), v.toString('hex')]) };
}

const nameBytes = fc.uint8Array({ minLength: 1, maxLength: 24 }).map((a) => Buffer.from(a.map((b) => b || 1)));
const valueBytes = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a.map((b) => b || 1)));
const pairs = fc.array(fc.tuple(nameBytes, valueBytes), { maxLength: 12 });
const cuts = fc.array(fc.nat(), { maxLength: 8 });

/** The framed heads of the hostile table, and valid ones, as seeds. */
const seeds = HOSTILE_CASES.map((row) => row.bytes);
const anyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  fc.constantFrom(...seeds),
  fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([bytes, at, byte]) => {
    const copy = Buffer.from(bytes);
    if (copy.length > 0) copy[at % copy.length] = byte;
    return copy;
  }),
);

describe('the SCGI framing parser', () => {
  it('gives back exactly the variables and body bytes of any valid head, however it is chunked', () => {
    fc.assert(
      fc.property(pairs, fc.uint8Array({ maxLength: 64 }), cuts, (variables, body, at) => {
        fc.pre(variables.length > 0);
        const bytes = encodeScgi(variables as Pair[], Buffer.from(body));
        const result = feed(bytes, at);
        assert.equal(result.kind, 'done', JSON.stringify(summary(result)));
        if (result.kind !== 'done') return;
        assert.deepEqual(
          result.pairs.map(([n, v]) => [n.toString('hex'), v.toString('hex')]),
          variables.map(([n, v]) => [n.toString('hex'), v.toString('hex')]),
        );
      }),
      runs(),
    );
  });

  it('never throws and reaches the same verdict on any bytes, whole or chunked', () => {
    fc.assert(
      fc.property(anyBytes, cuts, (bytes, at) => {
        const whole = feed(bytes);
        const chunked = feed(bytes, at);
        assert.deepEqual(summary(chunked), summary(whole));
        if (whole.kind === 'done') {
          // What it accepted re-encodes to the bytes it consumed.
          const again = encodeScgi(whole.pairs as Pair[]);
          assert.deepEqual(again, bytes.subarray(0, again.length));
        }
      }),
      runs(),
    );
  });

  it('refuses a length prefix that is not plain digits within the cap, before reading further', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 8 }), (prefix) => {
        const result = new FrameParser().push(Buffer.from(`${prefix}:`, 'latin1'));
        // The length prefix ends at the first colon; the bytes after it are the block's.
        const digits = prefix.split(':', 1)[0] ?? '';
        const after = prefix.length - digits.length;
        const valid = /^[1-9][0-9]*$/.test(digits) && Number(digits) <= MAX_BLOCK_BYTES;
        if (!valid) assert.equal(result.kind, 'error', prefix);
        else if (after <= Number(digits)) assert.equal(result.kind, 'more', prefix);
      }),
      // Found by `npm run fuzz:long`: a colon inside the generated prefix (the model was wrong).
      { ...runs(), examples: [['6:+EV']] },
    );
  });
});

describe('the SCGI request check', () => {
  const printable = fc.string({ maxLength: 20 });
  const httpName = fc.stringMatching(/^HTTP_[A-Z0-9_]{1,12}$/);
  const variable = fc.oneof(
    fc.tuple(httpName, printable),
    fc.tuple(
      fc.constantFrom('SCGI', 'REQUEST_METHOD', 'REQUEST_URI', 'CONTENT_TYPE', 'REMOTE_ADDR', 'QUERY_STRING'),
      fc.oneof(printable, fc.constantFrom('1', 'GET', '/x?y', '')),
    ),
  );
  it('never throws; what it accepts is a request the HTTP servers could have received', () => {
    fc.assert(
      fc.property(
        fc.option(fc.stringMatching(/^[0-9]{1,3}$/)),
        fc.array(variable, { maxLength: 10 }),
        fc.boolean(),
        (length, rest, complete) => {
          // `complete`: with the variables a request needs, so that some are accepted.
          const needed: [string, string][] = complete
            ? [
                ['SCGI', '1'],
                ['REQUEST_METHOD', 'GET'],
                ['REQUEST_URI', '/x?y'],
              ]
            : [];
          const list: [string, string][] = [
            ...(length === null ? [] : [['CONTENT_LENGTH', length] as [string, string]]),
            ...rest,
            ...needed,
          ];
          const result = readRequest(list.map(([n, v]) => [Buffer.from(n), Buffer.from(v)] as const));
          if (!result.ok) return;
          const { request } = result;
          assert.match(request.method, /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/);
          assert.match(request.url, /^\/[\x21-\x7e]*$/);
          assert.equal(String(request.contentLength), length);
          assert.equal(request.headers['content-length'], length);
          const type = list.find(([name]) => name === 'CONTENT_TYPE')?.[1];
          assert.equal(request.headers['content-type'], type === '' ? undefined : type);
          for (const [name, value] of Object.entries(request.headers)) {
            assert.match(name, /^[!#$%&'*+.^_`|~0-9a-z-]+$/);
            assert.doesNotMatch(value, /[\r\n\0]/);
            // content-length and content-type are the body's own (CONTENT_LENGTH, CONTENT_TYPE).
            if (name === 'content-length' || name === 'content-type') continue;
            assert.ok(!DROPPED_HTTP_VARIABLES.has(`HTTP_${name.toUpperCase().replaceAll('-', '_')}`), name);
          }
        },
      ),
      // Found by `npm run fuzz:long`: the first accepted request (the check took the body's own
      // content-length for a forwarded HTTP_CONTENT_LENGTH).
      {
        ...runs(),
        examples: [
          [
            '3',
            [
              ['REQUEST_URI', '/x?y'],
              ['HTTP_Y5KUVWTMJ', 'd7h3RA@\\`M'],
              ['SCGI', '1'],
              ['REMOTE_ADDR', 'GET'],
              ['HTTP_9SL', '!j'],
              ['HTTP__I03_0__2__', "G$F\\g'p]d"],
              ['REQUEST_METHOD', 'GET'],
            ],
            false,
          ],
        ],
      },
    );
  });

  it('maps nginx 1.22 repeated headers as HTTP merges them, and drops framing headers', () => {
    const result = readRequest(
      (
        [
          ['CONTENT_LENGTH', '3'],
          ['SCGI', '1'],
          ['REQUEST_METHOD', 'POST'],
          ['REQUEST_URI', '/a?b=c'],
          ['QUERY_STRING', 'b=c'],
          ['CONTENT_TYPE', 'text/plain'],
          ['HTTP_CONTENT_TYPE', 'application/json'],
          ['HTTP_CONTENT_LENGTH', '3'],
          ['HTTP_TRANSFER_ENCODING', 'chunked'],
          ['HTTP_X_TAG', 'a'],
          ['HTTP_X_TAG', 'b'],
          ['HTTP_COOKIE', 'a=1'],
          ['HTTP_COOKIE', 'b=2'],
          ['REMOTE_ADDR', '203.0.113.7'],
        ] as const
      ).map(([n, v]) => [Buffer.from(n), Buffer.from(v)] as const),
    );
    assert.ok(result.ok);
    assert.equal(result.request.url, '/a?b=c', 'REQUEST_URI verbatim, QUERY_STRING never appended');
    assert.deepEqual(result.request.headers, {
      'x-tag': 'a, b',
      cookie: 'a=1; b=2',
      'content-type': 'text/plain',
      'content-length': '3',
    });
    assert.equal(result.request.remoteAddress, '203.0.113.7');
  });
});

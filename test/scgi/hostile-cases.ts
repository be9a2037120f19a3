// The hostile SCGI table (docs/scgi.md lists it): raw bytes a broken or malicious front server
// could send, and the one answer every backend gives. `close`: broken framing, the connection
// is closed without a byte; `bad_request`: well framed but invalid, `Status: 400` with the
// catalogued body; otherwise the status (and JSON body) of the request that is served.
import { encodeScgi, type Pair } from '../helpers/scgi';

/** What a row must get back. */
export type HostileAnswer =
  | 'close'
  | 'bad_request'
  | 'body_read_failed'
  | 'request_timeout'
  | { readonly status: number; readonly json?: unknown; readonly bodyLength?: number };

/** One row. */
export interface HostileCase {
  readonly name: string;
  /** Everything sent (also the seeds of the parser's property tests). */
  readonly bytes: Buffer;
  /** Sent in these pieces instead, one write each. */
  readonly pieces?: readonly Buffer[];
  /** Shut our side once sent (EOF). */
  readonly end?: boolean;
  readonly answer: HostileAnswer;
}

/** The variables of a GET a handler answers the same way on every backend. */
export const BASE: readonly Pair[] = [
  ['CONTENT_LENGTH', '0'],
  ['SCGI', '1'],
  ['REQUEST_METHOD', 'GET'],
  ['REQUEST_URI', '/__test/params/a/b'],
  ['REMOTE_ADDR', '127.0.0.1'],
];

const PARAMS = { status: 200, json: { a: 'a', b: 'b', path: '/__test/params/a/b' } } as const;

/** BASE with `name` set to `value` (replaced in place, or appended), or removed (undefined). */
function withVariable(name: string, value: string | Buffer | undefined, pairs: readonly Pair[] = BASE): Pair[] {
  const index = pairs.findIndex(([n]) => n === name);
  if (value === undefined) return pairs.filter(([n]) => n !== name);
  if (index === -1) return [...pairs, [name, value]];
  return pairs.map((pair, i) => (i === index ? [name, value] : pair));
}

const raw = (text: string) => Buffer.from(text, 'latin1');
const valid = encodeScgi(BASE);
/** The block of BASE without its netstring framing. */
const block = valid.subarray(valid.indexOf(':') + 1, valid.length - 1);

/** An upload whose body is `body`, declared `declared` bytes long. */
function upload(body: Buffer, declared = body.length): Buffer {
  const pairs = withVariable(
    'REQUEST_URI',
    '/__test/upload',
    withVariable('REQUEST_METHOD', 'POST', withVariable('CONTENT_LENGTH', String(declared))),
  );
  return encodeScgi(pairs, body);
}

const manyTiny = encodeScgi([...BASE, ...Array.from({ length: 4000 }, (_, i) => [`HTTP_X${i}`, 'v'] as Pair)]);
const padding = (size: number) => {
  const base = encodeScgi([...BASE, ['HTTP_X_PAD', '']]);
  const blockSize = base.indexOf(',', base.indexOf(':')) - base.indexOf(':') - 1;
  return encodeScgi([...BASE, ['HTTP_X_PAD', 'p'.repeat(size - blockSize)]]);
};

export const HOSTILE_CASES: readonly HostileCase[] = [
  { name: '":" with no length', bytes: raw(':,'), answer: 'close' },
  { name: 'length "+5"', bytes: raw('+5:abcd\0,'), answer: 'close' },
  { name: 'length " 5"', bytes: raw(' 5:abcd\0,'), answer: 'close' },
  { name: 'length "-1"', bytes: raw('-1:,'), answer: 'close' },
  {
    name: 'length with a leading zero',
    bytes: Buffer.concat([raw(`0${block.length}:`), block, raw(',')]),
    answer: 'close',
  },
  { name: 'length 0 (an empty block)', bytes: raw('0:,'), answer: 'close' },
  { name: '9000 digits and no colon', bytes: raw('9'.repeat(9000)), answer: 'close' },
  { name: 'declared length over the 64 KiB cap', bytes: raw(`65537:${'a'.repeat(100)}`), answer: 'close' },
  {
    name: 'missing comma after the block',
    bytes: Buffer.concat([raw(`${block.length}:`), block, raw(';')]),
    answer: 'close',
  },
  {
    name: 'last string not NUL-terminated',
    bytes: Buffer.concat([raw(`${block.length + 1}:`), block, raw('X,')]),
    answer: 'close',
  },
  {
    name: 'odd number of strings',
    bytes: Buffer.concat([raw(`${block.length + 5}:`), block, raw('NAME\0,')]),
    answer: 'close',
  },
  { name: 'incomplete block, then EOF', bytes: valid.subarray(0, 20), end: true, answer: 'close' },
  { name: 'block stalls halfway (header timeout)', bytes: valid.subarray(0, 20), answer: 'close' },
  { name: 'connection closed after zero bytes', bytes: Buffer.alloc(0), end: true, answer: 'close' },
  { name: 'empty variable name', bytes: encodeScgi([...BASE, ['', 'x']]), answer: 'bad_request' },
  {
    name: 'CONTENT_LENGTH missing',
    bytes: encodeScgi(withVariable('CONTENT_LENGTH', undefined)),
    answer: 'bad_request',
  },
  {
    name: 'CONTENT_LENGTH not first',
    bytes: encodeScgi([...withVariable('CONTENT_LENGTH', undefined), ['CONTENT_LENGTH', '0']]),
    answer: 'bad_request',
  },
  { name: 'CONTENT_LENGTH "12a"', bytes: encodeScgi(withVariable('CONTENT_LENGTH', '12a')), answer: 'bad_request' },
  { name: 'CONTENT_LENGTH "+1"', bytes: encodeScgi(withVariable('CONTENT_LENGTH', '+1'), 'x'), answer: 'bad_request' },
  { name: 'CONTENT_LENGTH "01"', bytes: encodeScgi(withVariable('CONTENT_LENGTH', '01'), 'x'), answer: 'bad_request' },
  { name: 'CONTENT_LENGTH duplicated', bytes: encodeScgi([...BASE, ['CONTENT_LENGTH', '0']]), answer: 'bad_request' },
  { name: 'SCGI missing', bytes: encodeScgi(withVariable('SCGI', undefined)), answer: 'bad_request' },
  { name: 'SCGI is "2"', bytes: encodeScgi(withVariable('SCGI', '2')), answer: 'bad_request' },
  {
    name: 'REQUEST_METHOD missing (no include scgi_params)',
    bytes: encodeScgi(withVariable('REQUEST_METHOD', undefined)),
    answer: 'bad_request',
  },
  {
    name: 'REQUEST_URI not a path',
    bytes: encodeScgi(withVariable('REQUEST_URI', 'http://x/')),
    answer: 'bad_request',
  },
  {
    name: 'a non-UTF-8 value',
    bytes: encodeScgi([...BASE, ['HTTP_X_NAME', Buffer.from([0xff, 0xfe])]]),
    answer: 'bad_request',
  },
  {
    name: 'CR/LF in a value',
    bytes: encodeScgi([...BASE, ['HTTP_X_NAME', 'a\r\nx-injected: 1']]),
    answer: 'bad_request',
  },
  {
    name: 'an HTTP_ name that is no header name',
    bytes: encodeScgi([...BASE, ['HTTP_X:Y', 'a']]),
    answer: 'bad_request',
  },
  {
    name: 'body shorter than declared, then EOF',
    bytes: upload(Buffer.from('abc'), 10),
    end: true,
    answer: 'body_read_failed',
  },
  {
    name: 'a body stalling halfway (request timeout)',
    bytes: upload(Buffer.from('abc'), 10),
    answer: 'request_timeout',
  },
  {
    name: 'a declared body over the limit, cut short (413, then EOF)',
    bytes: upload(Buffer.from('abc'), 10_000_000),
    end: true,
    answer: { status: 413 },
  },
  {
    name: "CONTENT_LENGTH is not the client's Content-Length (nginx 1.22, request buffering off)",
    bytes: encodeScgi([...BASE, ['HTTP_CONTENT_LENGTH', '65536']]),
    answer: 'bad_request',
  },
  {
    name: 'a variable not read holds bytes of any kind (DOCUMENT_URI decoded by nginx)',
    bytes: encodeScgi([...BASE, ['DOCUMENT_URI', Buffer.from([0x2f, 0xff, 0x0a])]]),
    answer: PARAMS,
  },
  {
    name: 'bytes after the body (ignored)',
    bytes: Buffer.concat([upload(Buffer.from('abc')), raw('GARBAGE')]),
    answer: { status: 200, json: { bytes: 3 } },
  },
  {
    name: 'trickled one byte at a time',
    bytes: valid,
    pieces: [...valid].map((byte) => Buffer.from([byte])),
    answer: PARAMS,
  },
  {
    name: 'length digits split across writes',
    bytes: valid,
    pieces: [valid.subarray(0, 1), valid.subarray(1)],
    answer: PARAMS,
  },
  { name: '4000 tiny headers', bytes: manyTiny, answer: PARAMS },
  { name: 'a block of exactly 64 KiB', bytes: padding(64 * 1024), answer: PARAMS },
  {
    name: 'framing headers forwarded by the front server (dropped)',
    bytes: encodeScgi([
      ...BASE,
      ['HTTP_TRANSFER_ENCODING', 'chunked'],
      ['HTTP_CONTENT_LENGTH', '0'],
      ['HTTP_CONNECTION', 'keep-alive'],
    ]),
    answer: PARAMS,
  },
  {
    name: 'a target the HTTP servers refuse (<) gets their bare 400',
    bytes: encodeScgi(withVariable('REQUEST_URI', '/a<b')),
    answer: { status: 400, bodyLength: 0 },
  },
];

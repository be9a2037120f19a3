// Hostile and malformed requests, as raw bytes, with the answer each backend gives. One table:
// hostile.test.ts checks it against every backend, and the README lists it. Only the core's routes
// are used (/health and the test routes, HANDOFF_TEST_ROUTES=1): the table holds without the demo.

/** What a backend does with a case: an HTTP status, or the connection closed without one. */
export type Answer = number | 'closed';

/** One hostile request. */
export interface HostileCase {
  readonly name: string;
  /** The bytes sent; `{body}` is not interpreted, send what is written. */
  readonly request: () => Buffer;
  /** Close our side after sending (a truncated request). @default false */
  readonly hangUp?: boolean;
  /** The answer of each backend; a list means any of these. */
  readonly expect: {
    readonly native: Answer | Answer[];
    readonly fastify: Answer | Answer[];
    readonly express: Answer | Answer[];
  };
}

const head = (lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
const same = (answer: Answer | Answer[]) => ({ native: answer, fastify: answer, express: answer });

export const HOSTILE_CASES: readonly HostileCase[] = [
  { name: 'garbage instead of a request line', request: () => head(['HELLO THERE']), expect: same(400) },
  {
    name: 'request line with an extra word',
    request: () => head(['GET /health HTTP/1.1 extra', 'Host: x']),
    expect: same(400),
  },
  { name: 'unknown HTTP version', request: () => head(['GET /health HTTP/7.1', 'Host: x']), expect: same([400, 505]) },
  {
    name: 'control byte in a header value',
    request: () => head(['GET /health HTTP/1.1', 'Host: x', 'X-Bad: a\u0001b']),
    expect: same(400),
  },
  {
    name: 'space in a header name',
    request: () => head(['GET /health HTTP/1.1', 'Host: x', 'Bad Name: 1']),
    expect: same(400),
  },
  {
    name: 'a 100 KiB header',
    request: () => head(['GET /health HTTP/1.1', 'Host: x', `X-Big: ${'a'.repeat(100 * 1024)}`]),
    expect: same(431),
  },
  {
    name: 'two different Content-Length headers',
    request: () => head(['POST /__test/upload HTTP/1.1', 'Host: x', 'Content-Length: 3', 'Content-Length: 4', '']),
    expect: same(400),
  },
  {
    name: 'Content-Length with Transfer-Encoding (request smuggling)',
    request: () =>
      Buffer.concat([
        head(['POST /__test/upload HTTP/1.1', 'Host: x', 'Content-Length: 5', 'Transfer-Encoding: chunked']),
        Buffer.from('0\r\n\r\nPOST /__test/count HTTP/1.1\r\nHost: x\r\n\r\n'),
      ]),
    // hyper lets Transfer-Encoding win and closes after answering (RFC 9112 section 6.3); Node
    // refuses. Either way the smuggled request never runs (hostile.test.ts checks that).
    expect: { native: 200, fastify: 400, express: 400 },
  },
  {
    name: 'a chunk size that is not hexadecimal',
    request: () =>
      Buffer.concat([
        head(['POST /__test/upload HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked']),
        Buffer.from('zz\r\nabc\r\n0\r\n\r\n'),
      ]),
    expect: same([400, 'closed']),
  },
  {
    name: 'a body shorter than its Content-Length, then hang-up',
    request: () =>
      Buffer.concat([
        head(['POST /__test/upload HTTP/1.1', 'Host: x', 'Content-Length: 100']),
        Buffer.from('only this'),
      ]),
    hangUp: true,
    expect: same([400, 'closed']),
  },
  {
    name: 'a declared 1 GiB body (refused before it is read)',
    request: () => head(['POST /__test/upload HTTP/1.1', 'Host: x', `Content-Length: ${1024 ** 3}`]),
    expect: same(413),
  },
  {
    name: 'Expect: 100-continue on an oversize body',
    request: () =>
      head(['POST /__test/upload HTTP/1.1', 'Host: x', 'Expect: 100-continue', `Content-Length: ${1024 ** 3}`]),
    expect: same(413),
  },
  {
    name: 'an encoded slash in the path',
    request: () => head(['GET /health%2Fx HTTP/1.1', 'Host: x']),
    expect: same(404),
  },
  {
    name: 'a malformed escape in a path parameter',
    request: () => head(['GET /__test/params/%zz/b HTTP/1.1', 'Host: x']),
    expect: same(400),
  },
  {
    name: 'bytes that are not UTF-8 in a path parameter',
    request: () => head(['GET /__test/files/%C0%AF%FF HTTP/1.1', 'Host: x']),
    expect: same(400),
  },
  {
    name: 'raw UTF-8 bytes in the path',
    request: () => Buffer.concat([Buffer.from('GET /__test/files/'), Buffer.from('é'), head([' HTTP/1.1', 'Host: x'])]),
    // Not a valid request target (RFC 3986 allows ASCII only; a client sends %C3%A9). Node's
    // parser refuses it with a bare 400 before any route; hyper passes it on, and the native
    // server answers it with the same bare 400 (native/src/api/framing.rs).
    expect: same(400),
  },
  {
    name: 'raw UTF-8 bytes in the query',
    request: () => Buffer.concat([Buffer.from('GET /health?x='), Buffer.from('é'), head([' HTTP/1.1', 'Host: x'])]),
    expect: same(400),
  },
  {
    name: 'a raw byte that is not UTF-8 in the path',
    request: () =>
      Buffer.concat([Buffer.from('GET /__test/files/'), Buffer.from([0xff]), head([' HTTP/1.1', 'Host: x'])]),
    expect: same(400),
  },
  {
    name: '.. segments in the path',
    request: () => head(['GET /__test/count/../health HTTP/1.1', 'Host: x']),
    expect: same(404),
  },
  { name: 'encoded .. segments', request: () => head(['GET /%2e%2e/health HTTP/1.1', 'Host: x']), expect: same(404) },
  { name: 'HEAD on a GET route', request: () => head(['HEAD /health HTTP/1.1', 'Host: x']), expect: same(200) },
  { name: 'OPTIONS on a route', request: () => head(['OPTIONS /health HTTP/1.1', 'Host: x']), expect: same(405) },
  { name: 'an unknown method', request: () => head(['BREW /health HTTP/1.1', 'Host: x']), expect: same([400, 405]) },
  {
    name: 'an absolute-form target',
    request: () => head(['GET http://x/health HTTP/1.1', 'Host: x']),
    expect: same([200, 404]),
  },
  { name: 'no Host header in HTTP/1.1', request: () => head(['GET /health HTTP/1.1']), expect: same([200, 400]) },
];

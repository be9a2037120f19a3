// The SCGI request head (nascheme/scgi doc/protocol.txt): a netstring `<length>:<block>,` whose
// block is `name NUL value NUL` pairs, CONTENT_LENGTH first, SCGI=1 among them; then the body.
// Two stages, as docs/scgi.md lists them: framing (a failure closes the connection without an
// answer, for nothing can be trusted after it) and the request itself (well framed but invalid:
// 400 `bad_request`). The native server (native/src/serve/scgi*.rs) follows the same rules.

import { isIP } from 'node:net';

/** Largest block (the headers), in bytes: the cap of an HTTP request head (MAX_HEADER_BYTES). */
export const MAX_BLOCK_BYTES = 64 * 1024;

/** Most digits the length prefix may have: enough for MAX_BLOCK_BYTES. */
export const MAX_LENGTH_DIGITS = String(MAX_BLOCK_BYTES).length;

/** The largest CONTENT_LENGTH accepted (a JavaScript number's exact range). */
export const MAX_CONTENT_LENGTH = Number.MAX_SAFE_INTEGER;

/** The outcome of feeding bytes to the framing parser. */
export type FrameResult =
  /** More bytes are needed. */
  | { readonly kind: 'more' }
  /** The netstring is complete: its pairs, and the bytes after the comma (the body's start). */
  | { readonly kind: 'done'; readonly pairs: readonly (readonly [Buffer, Buffer])[]; readonly rest: Buffer }
  /** Broken framing: close without an answer. */
  | { readonly kind: 'error'; readonly reason: string };

const COLON = 0x3a;
const COMMA = 0x2c;
const ZERO = 0x30;
const NINE = 0x39;

/** Reads the netstring of a request head from chunks as they arrive. */
export class FrameParser {
  private digits = '';
  private length = -1;
  private readonly chunks: Buffer[] = [];
  private received = 0;
  private finished: FrameResult | undefined;

  /** Feeds the next chunk; once a result other than `more` is returned, later calls return it again. */
  push(chunk: Buffer): FrameResult {
    if (this.finished !== undefined) return this.finished;
    let offset = 0;
    if (this.length < 0) {
      for (; offset < chunk.length; offset++) {
        const byte = chunk[offset] as number;
        if (byte === COLON) {
          if (this.digits === '') return this.fail('empty length prefix');
          // Never 0: a length starting with 0 was refused at its first byte.
          const length = Number(this.digits);
          if (length > MAX_BLOCK_BYTES)
            return this.fail(`header block of ${length} bytes (at most ${MAX_BLOCK_BYTES})`);
          this.length = length;
          offset++;
          break;
        }
        if (byte === ZERO && this.digits === '') return this.fail('length prefix starting with 0');
        if (byte < ZERO || byte > NINE) {
          return this.fail(`byte 0x${byte.toString(16).padStart(2, '0')} in the length prefix`);
        }
        if (this.digits.length === MAX_LENGTH_DIGITS) {
          return this.fail(`length prefix longer than ${MAX_LENGTH_DIGITS} digits`);
        }
        this.digits += String.fromCharCode(byte);
      }
      if (this.length < 0) return { kind: 'more' };
    }
    const body = offset === 0 ? chunk : chunk.subarray(offset);
    this.chunks.push(body);
    this.received += body.length;
    // The block and its comma.
    if (this.received < this.length + 1) return { kind: 'more' };
    const all = this.chunks.length === 1 ? body : Buffer.concat(this.chunks, this.received);
    this.chunks.length = 0;
    if (all[this.length] !== COMMA) return this.fail('no comma after the header block');
    const block = all.subarray(0, this.length);
    const rest = all.subarray(this.length + 1);
    if (block[block.length - 1] !== 0) return this.fail('header block not ending with NUL');
    const strings: Buffer[] = [];
    let start = 0;
    for (let i = 0; i < block.length; i++) {
      if (block[i] === 0) {
        strings.push(block.subarray(start, i));
        start = i + 1;
      }
    }
    if (strings.length % 2 !== 0) return this.fail('header block with a name and no value');
    const pairs: [Buffer, Buffer][] = [];
    for (let i = 0; i < strings.length; i += 2) pairs.push([strings[i] as Buffer, strings[i + 1] as Buffer]);
    this.finished = { kind: 'done', pairs, rest };
    return this.finished;
  }

  /** Bytes of the head seen so far without a result (for an EOF's log line). */
  get pending(): number {
    return this.digits.length + this.received;
  }

  private fail(reason: string): FrameResult {
    this.finished = { kind: 'error', reason };
    return this.finished;
  }
}

/** A valid SCGI request, mapped to HTTP terms. */
export interface ScgiRequest {
  readonly method: string;
  /** REQUEST_URI, verbatim. */
  readonly url: string;
  /** The body's length: CONTENT_LENGTH. */
  readonly contentLength: number;
  /** Header name (lower case) → value; repeated `HTTP_*` names merged as HTTP merges them. */
  readonly headers: Readonly<Record<string, string>>;
  /** Name, value, name, value… as received (mapped names), for `rawHeaders`. */
  readonly rawHeaders: readonly string[];
  /** REMOTE_ADDR, when it is an IP address. */
  readonly remoteAddress: string | undefined;
  /** REMOTE_PORT, when given and a port number. */
  readonly remotePort: number | undefined;
}

/** The outcome of checking a framed head: the request, or why it is a 400. */
export type RequestResult =
  | { readonly ok: true; readonly request: ScgiRequest }
  | { readonly ok: false; readonly reason: string };

/** `HTTP_*` variables never taken as request headers: hop-by-hop and framing headers a front
 * server forwards as they came (CONTENT_LENGTH and CONTENT_TYPE are the body's own; the front
 * server has answered `Expect: 100-continue` itself, and SCGI has no interim responses). */
export const DROPPED_HTTP_VARIABLES: ReadonlySet<string> = new Set([
  'HTTP_CONTENT_LENGTH',
  'HTTP_CONTENT_TYPE',
  'HTTP_EXPECT',
  'HTTP_TRANSFER_ENCODING',
  'HTTP_CONNECTION',
  'HTTP_KEEP_ALIVE',
  'HTTP_TE',
  'HTTP_TRAILER',
  'HTTP_UPGRADE',
  'HTTP_PROXY',
  'HTTP_PROXY_CONNECTION',
]);

/** The variables the request is made of (with every `HTTP_*`): their values must be UTF-8
 * text without control characters. Others (DOCUMENT_URI, decoded by nginx, may hold any byte)
 * are not read. */
const USED_VARIABLES: ReadonlySet<string> = new Set([
  'CONTENT_LENGTH',
  'SCGI',
  'REQUEST_METHOD',
  'REQUEST_URI',
  'CONTENT_TYPE',
  'REMOTE_ADDR',
  'REMOTE_PORT',
]);

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const DIGITS = /^(?:0|[1-9][0-9]*)$/;
/** True when `bytes` hold a control character other than TAB (never in an HTTP header value,
 * nor in a target): 0x00–0x08, 0x0A–0x1F, 0x7F. */
function hasControl(bytes: Buffer): boolean {
  for (const byte of bytes) if ((byte < 0x20 && byte !== 0x09) || byte === 0x7f) return true;
  return false;
}
// A request target as an HTTP request line carries it: origin-form, visible ASCII.
const TARGET = /^\/[\x21-\x7e]*$/;

function decode(bytes: Buffer): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Checks the pairs of a framed head and maps them to an HTTP request (docs/scgi.md). */
export function readRequest(pairs: readonly (readonly [Buffer, Buffer])[]): RequestResult {
  const fail = (reason: string): RequestResult => ({ ok: false, reason });
  const seen = new Set<string>();
  const variables = new Map<string, string>();
  const headers: Record<string, string> = {};
  const rawHeaders: string[] = [];
  let index = 0;
  const clientLengths: string[] = [];
  for (const [rawName, rawValue] of pairs) {
    if (rawName.length === 0) return fail('empty header name');
    // Names compare byte for byte; only the values the request is made of must be text.
    const name = rawName.toString('latin1');
    if (index === 0 && name !== 'CONTENT_LENGTH') return fail('CONTENT_LENGTH is not the first header');
    index++;
    const used = name.startsWith('HTTP_') || USED_VARIABLES.has(name);
    const value = used ? decode(rawValue) : '';
    if (value === undefined || (used && hasControl(rawValue)))
      return fail(`${shown(rawName)}: a control byte, or not UTF-8`);
    if (name.startsWith('HTTP_')) {
      if (name === 'HTTP_CONTENT_LENGTH') clientLengths.push(value);
      if (DROPPED_HTTP_VARIABLES.has(name)) continue;
      const header = name.slice(5).toLowerCase().replaceAll('_', '-');
      if (!TOKEN.test(header)) return fail(`${shown(rawName)} is not a header name`);
      rawHeaders.push(header, value);
      const previous = headers[header];
      headers[header] = previous === undefined ? value : `${previous}${header === 'cookie' ? '; ' : ', '}${value}`;
      continue;
    }
    if (seen.has(name)) return fail(`${shown(rawName)} given twice`);
    seen.add(name);
    variables.set(name, value);
  }
  const contentLength = variables.get('CONTENT_LENGTH') ?? '';
  if (!DIGITS.test(contentLength) || Number(contentLength) > MAX_CONTENT_LENGTH) {
    return fail('CONTENT_LENGTH is not a plain number');
  }
  // nginx 1.22 with `scgi_request_buffering off` sends as CONTENT_LENGTH only the part of the
  // body it has read so far: reading that many bytes would take a truncated body for the whole.
  const clientLength = clientLengths.find((length) => length !== contentLength);
  if (clientLength !== undefined) {
    return fail(
      `CONTENT_LENGTH ${contentLength} is not the client's Content-Length ${clientLength} (nginx with scgi_request_buffering off?)`,
    );
  }
  if (variables.get('SCGI') !== '1') return fail('SCGI missing or not 1');
  const method = variables.get('REQUEST_METHOD');
  if (method === undefined) return fail('REQUEST_METHOD missing (include scgi_params?)');
  if (!TOKEN.test(method)) return fail('REQUEST_METHOD is not a method');
  const url = variables.get('REQUEST_URI');
  if (url === undefined) return fail('REQUEST_URI missing');
  if (!TARGET.test(url)) return fail('REQUEST_URI is not a path');
  const contentType = variables.get('CONTENT_TYPE');
  // The body's own headers come first, as a client sends them; an empty CONTENT_TYPE is none
  // (nginx's scgi_params sends it empty when the client sent none).
  const own: string[] = ['content-length', contentLength];
  if (contentType !== undefined && contentType !== '') own.push('content-type', contentType);
  const remote = variables.get('REMOTE_ADDR');
  const port = variables.get('REMOTE_PORT') ?? '';
  return {
    ok: true,
    request: {
      method,
      url,
      contentLength: Number(contentLength),
      // No `__proto__` can arise: a mapped name has no `_`.
      headers: {
        ...headers,
        ...(contentType !== undefined && contentType !== '' ? { 'content-type': contentType } : {}),
        'content-length': contentLength,
      },
      rawHeaders: [...rawHeaders, ...own],
      remoteAddress: remote !== undefined && isIP(remote) !== 0 ? remote : undefined,
      remotePort: DIGITS.test(port) && Number(port) <= 65535 ? Number(port) : undefined,
    },
  };
}

/** A variable name as the reason shows it: as sent, invalid UTF-8 replaced (the native
 * server's wording; the log line itself keeps it on one line). */
function shown(name: Buffer): string {
  return name.toString('utf8');
}

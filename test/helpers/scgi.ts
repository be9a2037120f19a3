// SCGI from the client's side, as the tests need it: a request built the way nginx builds it
// (conf/scgi_params), raw bytes sent on a real socket, and the CGI-style answer parsed into the
// same Reply the HTTP helper returns (test/helpers/http.ts), so suites run over either.
import { connect, type Socket } from 'node:net';
import type { BackendName } from '../../src/api/types';
import { loadNativeBackend } from '../../src/backends/native';
import { backendUnavailable, testConfig } from './backends';
import type { Endpoint, Reply, RequestOptions } from './http';

export type { Endpoint, Reply, RequestOptions } from './http';

/** One variable of the header block. */
export type Pair = readonly [string | Buffer, string | Buffer];

/** The netstring of `pairs` (`<len>:name NUL value NUL …,`), then `body`. */
export function encodeScgi(pairs: readonly Pair[], body: Buffer | string = Buffer.alloc(0)): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of pairs)
    parts.push(Buffer.from(name), Buffer.from([0]), Buffer.from(value), Buffer.from([0]));
  const block = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(`${block.length}:`), block, Buffer.from(','), Buffer.from(body)]);
}

/** The variables nginx sends for a request with `include scgi_params` (CONTENT_LENGTH first,
 * then scgi_params' order, then every client header as HTTP_*, repeats kept as nginx 1.22
 * does). `transfer-encoding` and `expect` are sent on as nginx forwards them (HTTP_*): the body
 * itself always goes with its length, as nginx sends a chunked body decoded. */
export function nginxPairs(options: RequestOptions & { readonly remoteAddress?: string }): Pair[] {
  const body = options.body === undefined ? Buffer.alloc(0) : Buffer.from(options.body);
  const path = options.path;
  const query = path.includes('?') ? path.slice(path.indexOf('?') + 1) : '';
  const documentUri = path.split('?', 1)[0] ?? path;
  const headers = Object.entries(options.headers ?? {});
  const contentType = headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1];
  const pairs: Pair[] = [
    ['CONTENT_LENGTH', String(body.length)],
    ['REQUEST_METHOD', options.method ?? 'GET'],
    ['REQUEST_URI', path],
    ['QUERY_STRING', query],
    ['CONTENT_TYPE', contentType === undefined ? '' : String(contentType)],
    ['DOCUMENT_URI', documentUri],
    ['DOCUMENT_ROOT', '/usr/share/nginx/html'],
    ['SCGI', '1'],
    ['SERVER_PROTOCOL', 'HTTP/1.1'],
    ['REQUEST_SCHEME', 'http'],
    ['REMOTE_ADDR', options.remoteAddress ?? '127.0.0.1'],
    ['REMOTE_PORT', '50000'],
    ['SERVER_PORT', '80'],
    ['SERVER_NAME', 'localhost'],
  ];
  if (!headers.some(([name]) => name.toLowerCase() === 'host')) pairs.push(['HTTP_HOST', 'localhost']);
  for (const [name, value] of headers) pairs.push([`HTTP_${name.toUpperCase().replaceAll('-', '_')}`, String(value)]);
  if (body.length > 0 && !headers.some(([name]) => /^(content-length|transfer-encoding)$/i.test(name))) {
    pairs.push(['HTTP_CONTENT_LENGTH', String(body.length)]);
  }
  return pairs;
}

/** What came back on a raw connection: every byte, and whether the server closed it. */
export interface RawAnswer {
  readonly bytes: Buffer;
  /** True when the server ended or closed the connection (rather than the wait running out). */
  readonly closed: boolean;
  /** True when the connection was reset rather than closed cleanly. */
  readonly reset: boolean;
}

/** Options of sendRaw. */
export interface RawOptions {
  /** Write the bytes in these pieces, each once the previous one was accepted. @default one piece */
  readonly pieces?: readonly Buffer[];
  /** Shut our side down once everything is written. @default false */
  readonly end?: boolean;
  /** Milliseconds to wait for the server to close before giving up (closed: false). @default 10000 */
  readonly timeoutMs?: number;
}

/** Connects, writes `bytes` (or `options.pieces`), reads until the server closes. */
export function sendRaw(endpoint: Endpoint, bytes: Buffer, options: RawOptions = {}): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket: Socket =
      'socketPath' in endpoint ? connect(endpoint.socketPath) : connect(endpoint.port, endpoint.host);
    const chunks: Buffer[] = [];
    let reset = false;
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ bytes: Buffer.concat(chunks), closed, reset });
    };
    const timer = setTimeout(() => finish(false), options.timeoutMs ?? 10_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') reset = true;
      finish(true);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.once('connect', async () => {
      for (const piece of options.pieces ?? [bytes]) {
        if (done || socket.destroyed) return;
        await new Promise<void>((written) => socket.write(piece, () => written()));
      }
      if (options.end && !socket.destroyed) socket.end();
    });
  });
}

/** A CGI-style answer (`Status: 200 OK`, headers, blank line, body) as a Reply; the header
 * lines in order as `lines`. Throws when it is not one. */
export function parseCgi(raw: Buffer): Reply & { readonly lines: readonly string[]; readonly statusLine: string } {
  const end = raw.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`no complete CGI head in ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`);
  const [statusLine = '', ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = /^Status: (\d{3})(?: .*)?$/.exec(statusLine);
  if (status === null) throw new Error(`not a CGI status line: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string | string[]> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`not a header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    const previous = headers[name];
    if (name === 'set-cookie') headers[name] = [...((previous as string[] | undefined) ?? []), value];
    else headers[name] = previous === undefined ? value : `${previous}, ${value}`;
  }
  const body = raw.subarray(end + 4);
  const text = body.toString('utf8');
  return {
    status: Number(status[1]),
    statusLine,
    lines,
    headers,
    body,
    text,
    bodySent: true,
    json: () => JSON.parse(text),
  };
}

/** Sends one request as nginx would and returns the parsed answer; throws when the server
 * closes without a CGI answer or keeps the connection open past the timeout. */
export async function scgiRequest(
  endpoint: Endpoint,
  options: RequestOptions & { readonly remoteAddress?: string },
): Promise<ReturnType<typeof parseCgi>> {
  const body = options.body === undefined ? Buffer.alloc(0) : Buffer.from(options.body);
  const bytes = encodeScgi(nginxPairs(options), body);
  const head = bytes.subarray(0, bytes.length - body.length);
  const pieces: Buffer[] = [head];
  const size = options.pieceSize ?? (body.length || 1);
  for (let offset = 0; offset < body.length; offset += size) pieces.push(body.subarray(offset, offset + size));
  const answer = await sendRaw(endpoint, bytes, { pieces, timeoutMs: options.timeoutMs ?? 10_000 });
  if (!answer.closed) throw new Error(`the server kept the connection open after answering ${options.path}`);
  return parseCgi(answer.bytes);
}

let nativeScgi: string | undefined | null = null;

/** Why `backend` cannot be tested over SCGI here, or undefined when it can: backendUnavailable,
 * or (native) an addon built without SCGI (its config refuses the `protocol` field). */
export function scgiUnavailable(backend: BackendName): string | undefined {
  const why = backendUnavailable(backend);
  if (why !== undefined || backend !== 'native') return why;
  if (nativeScgi === null) {
    const loaded = loadNativeBackend(testConfig('native', { HANDOFF_PROTOCOL: 'scgi' }));
    nativeScgi = loaded.ok ? undefined : `the native addon does not serve SCGI (${loaded.reason})`;
  }
  return nativeScgi;
}

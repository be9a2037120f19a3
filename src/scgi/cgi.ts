// The CGI-style response of SCGI: `Status: 200 OK`, the headers, a blank line, the body. Node's
// ServerResponse writes HTTP/1.1; CgiOutput stands as its socket and rewrites the head on the
// way (the body passes as it is: never chunked, see src/scgi/server.ts). The head's order is
// the one the native server writes too: the handler's headers as it set them, then
// `content-length`, then `date`; `connection`, `keep-alive` and `transfer-encoding` are left out
// (the connection closes after each answer, and nothing is chunked). Names are lower case; each
// `set-cookie` keeps its own line.
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';

/** Response headers that mean something only to an HTTP/1.1 connection. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding']);

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** `Status: <code> <reason>` and the headers, in the order described above, then the blank line. */
export function cgiHead(status: number, headers: readonly (readonly [string, string])[], reason = ''): Buffer {
  const lines = [`Status: ${status}${reason === '' ? '' : ` ${reason}`}`];
  const last: string[] = [];
  let date: string | undefined;
  for (const [rawName, value] of headers) {
    const name = rawName.toLowerCase();
    if (HOP_BY_HOP.has(name)) continue;
    if (name === 'date') date = `date: ${value}`;
    else if (name === 'content-length') last.push(`content-length: ${value}`);
    else lines.push(`${name}: ${value}`);
  }
  if (date !== undefined) last.push(date);
  return Buffer.from(`${[...lines, ...last].join('\r\n')}\r\n\r\n`, 'latin1');
}

/** Reads the head ServerResponse wrote (`HTTP/1.1 200 OK` CRLF headers CRLF CRLF) and writes it CGI style. */
function rewriteHead(head: Buffer): Buffer {
  const lines = head.toString('latin1').split('\r\n');
  const statusLine = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (statusLine === null) throw new Error(`not an HTTP/1.1 response head: ${JSON.stringify(lines[0])}`);
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    headers.push([line.slice(0, colon), line.slice(colon + 1).replace(/^[ \t]+/, '')]);
  }
  return cgiHead(Number(statusLine[1]), headers, statusLine[2] ?? '');
}

/** What a ServerResponse takes for its socket: the head rewritten, the body passed on, the
 * connection closed (lingering) at the end. Request code reading `req.socket.remoteAddress`
 * (the request log) sees the client REMOTE_ADDR names. */
export class CgiOutput extends Writable {
  private head: Buffer[] | undefined = [];

  constructor(
    private readonly socket: Socket,
    readonly remoteAddress: string | undefined,
    readonly remotePort: number | undefined,
  ) {
    super();
  }

  /** As net.Socket's: applies to the connection. */
  setTimeout(ms: number, callback?: () => void): this {
    this.socket.setTimeout(ms, callback);
    return this;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.head === undefined) {
      this.send(chunk, callback);
      return;
    }
    this.head.push(chunk);
    const pending = Buffer.concat(this.head);
    const end = pending.indexOf(HEAD_END);
    if (end === -1) {
      this.head = [pending];
      callback();
      return;
    }
    const head = pending.subarray(0, end + HEAD_END.length);
    const rest = pending.subarray(end + HEAD_END.length);
    // An interim response (`100 Continue`) has no place in SCGI: dropped.
    if (/^HTTP\/1\.[01] 1\d\d/.test(head.toString('latin1', 0, 16))) {
      this.head = [];
      if (rest.length > 0) this._write(rest, _encoding, callback);
      else callback();
      return;
    }
    this.head = undefined;
    let rewritten: Buffer;
    try {
      rewritten = rewriteHead(head);
    } catch (error) {
      callback(error as Error);
      return;
    }
    this.send(rest.length > 0 ? Buffer.concat([rewritten, rest]) : rewritten, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.socket.destroyed) lingeringEnd(this.socket);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Destroyed before its end (a response stream that failed mid-way): the answer is cut
    // short, so the connection closes at once, as natively.
    if (!this.writableFinished) this.socket.destroy();
    callback(error);
  }

  private send(data: Buffer, callback: (error?: Error | null) => void): void {
    if (this.socket.destroyed) {
      callback(new Error('the connection is closed'));
      return;
    }
    this.socket.write(data, (error) => callback(error ?? null));
  }
}

/** How long a closing connection keeps reading and dropping what the client still sends (a
 * body refused unread), so that the kernel does not reset it before the answer is read. */
const LINGER_MS = 2_000;

/** Ends our side, then reads and drops what the client still sends until it closes or
 * LINGER_MS pass (as the HTTP servers do: native/src/serve/lingering.rs). */
export function lingeringEnd(socket: Socket): void {
  socket.end();
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

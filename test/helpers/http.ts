// A small HTTP client over a real socket (Unix path or TCP), one connection per request unless
// told otherwise, returning what a user would see: status, headers, body.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

/** Where a server listens, as the tests reach it. */
export type Endpoint = { readonly socketPath: string } | { readonly host: string; readonly port: number };

/** One request. */
export interface RequestOptions {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string | number>>;
  readonly body?: string | Buffer;
  /** Write the body in pieces of this many bytes, each after the previous one was accepted, as
   * an upload from a real client arrives. @default one write */
  readonly pieceSize?: number;
  /** Milliseconds before the request is abandoned. @default 10000 */
  readonly timeoutMs?: number;
}

/** What came back. */
export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
  /** False when the server answered before asking for an `expect: 100-continue` body. */
  readonly bodySent: boolean;
  /** The body parsed as JSON (throws if it is not). */
  json(): unknown;
}

/** How long a client waits for `100 Continue` before sending the body anyway (curl's wait). */
const EXPECT_WAIT_MS = 1_000;

/** Sends one request on a fresh connection and reads the whole answer. With an
 * `expect: 100-continue` header the body is sent when the server asks for it or after
 * EXPECT_WAIT_MS, as curl does for large bodies; `Reply.bodySent` tells whether it was. */
export function send(endpoint: Endpoint, options: RequestOptions): Promise<Reply> {
  const expectContinue = Object.entries(options.headers ?? {}).some(
    ([name, value]) => name.toLowerCase() === 'expect' && String(value).toLowerCase() === '100-continue',
  );
  let bodySent = !expectContinue;
  const headers: Record<string, string | number> = { ...options.headers };
  const framed = Object.keys(headers).some((name) => /^(content-length|transfer-encoding)$/i.test(name));
  if (expectContinue && !framed && options.body !== undefined) {
    // Headers go out before the body here, so Node could not size it and would send it chunked.
    headers['content-length'] = Buffer.byteLength(options.body);
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        ...endpoint,
        agent: false,
        method: options.method ?? 'GET',
        path: options.path,
        headers,
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text,
            bodySent,
            json: () => JSON.parse(text),
          });
          if (!bodySent) req.destroy();
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${options.path} within the timeout`)));
    req.on('error', reject);
    if (expectContinue) {
      req.flushHeaders();
      const sendBody = () => {
        if (bodySent || req.destroyed) return;
        bodySent = true;
        req.end(options.body);
      };
      const wait = setTimeout(sendBody, EXPECT_WAIT_MS);
      // Not 'continue': Node emits that for a final answer too, not only for a real 100.
      req.on('information', (info) => {
        if (info.statusCode === 100) sendBody();
      });
      req.on('response', () => clearTimeout(wait));
      req.on('close', () => clearTimeout(wait));
    } else if (options.pieceSize !== undefined && options.body !== undefined) {
      void writeInPieces(req, Buffer.from(options.body), options.pieceSize);
    } else {
      req.end(options.body);
    }
  });
}

async function writeInPieces(req: import('node:http').ClientRequest, body: Buffer, size: number): Promise<void> {
  for (let offset = 0; offset < body.length && !req.destroyed; offset += size) {
    const piece = body.subarray(offset, offset + size);
    // A failed write surfaces as the request's 'error' event.
    await new Promise<void>((resolve) => req.write(piece, () => resolve()));
  }
  if (!req.destroyed) req.end();
}

/** Retries `GET path` until it answers (any status) or `timeoutMs` passes. */
export async function waitUntilServing(endpoint: Endpoint, path = '/health', timeoutMs = 20_000): Promise<Reply> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await send(endpoint, { path, timeoutMs: 2_000 });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

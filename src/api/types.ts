// The framework-neutral shape of a request and a response: the fastify and express adapters
// convert to and from these, so both serve exactly the same API.
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

/** Which server answered, as reported by `GET /health`. */
export type BackendName = 'native' | 'fastify' | 'express';

/** What a handler sees of a request. */
export interface ApiRequest {
  /** Upper-case method, e.g. `GET`. */
  readonly method: string;
  /** The raw (still percent-encoded) path, base path included. */
  readonly path: string;
  /** The query string, decoded the way every backend decodes it. */
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** The request body, not yet read. */
  readonly body: Readable;
  /** Called just before the body is read: answers `Expect: 100-continue` (when the client
   * asked and the server may), so a body that is refused unread is never sent. */
  readonly willReadBody: () => void;
}

/** What a handler answers: a status and a JSON value, or a stream sent as it comes (its
 * `content-type` in `headers`). */
export type ApiResponse = {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
} & (
  | { readonly body: unknown; readonly stream?: undefined }
  | { readonly stream: Readable; readonly body?: undefined }
);

/** Settings and per-process state shared by every handler. */
export interface ApiContext {
  readonly backend: BackendName;
  readonly version: string;
  readonly bodyLimit: number;
  readonly hashLimit: number;
  readonly testRoutes: boolean;
  /** How long a request body may take to arrive, in milliseconds. */
  readonly requestTimeoutMs: number;
  /** `performance.now()` when the server was prepared, for `uptimeMs`. */
  readonly startedAt: number;
  /** `/counter`: per process (a JavaScript server runs on one thread, so `+=` is atomic). */
  readonly counter: { value: number };
}

/** A route handler. */
export type Handler = (request: ApiRequest, context: ApiContext) => ApiResponse | Promise<ApiResponse>;

// The framework-neutral shape of a request, a response and a route: the fastify and express
// adapters convert to and from these, so both serve exactly the same API.
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Resources } from '../app/hooks';
import type { AppSettings } from '../config';

/** Which server answered, as reported by `GET /health`. */
export type BackendName = 'native' | 'fastify' | 'express';

/** What a handler sees of a request. */
export interface ApiRequest {
  /** Upper-case method, e.g. `GET`. */
  readonly method: string;
  /** The raw (still percent-encoded) path, relative to the base path: with the base path
   * `/api`, a request for `/api/items/a%20b` has the path `/items/a%20b`. */
  readonly path: string;
  /** The route's path parameters, percent-decoded: `/items/{id}` and `/items/a%20b` give
   * `{ id: 'a b' }`; a catch-all `{*rest}` gets the rest of the path, slashes included. */
  readonly params: Readonly<Record<string, string>>;
  /** The query string, decoded the way every backend decodes it. */
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** The request body, not yet read (read it with `readJson`, `readBody` or `streamBody`). */
  readonly body: Readable;
  /** Called just before the body is read: answers `Expect: 100-continue` (when the client
   * asked and the server may), so a body that is refused unread is never sent. */
  readonly willReadBody: () => void;
}

/** What a handler answers: a status and a JSON value, or a stream sent as it comes (its
 * `content-type` in `headers`). A 204 has no body and no `content-type` (`body: undefined`). */
export type ApiResponse = {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
} & (
  | { readonly body: unknown; readonly stream?: undefined }
  | { readonly stream: Readable; readonly body?: undefined }
);

/** Settings and resources shared by every handler of one server. */
export interface ApiContext {
  readonly backend: BackendName;
  readonly version: string;
  /** `HANDOFF_BASE_PATH`: the prefix every route is served under ('' for none). */
  readonly basePath: string;
  /** `HANDOFF_BODY_LIMIT`: the largest body `readJson` (and `readBody`, `streamBody` by
   * default) reads, in bytes. */
  readonly bodyLimit: number;
  /** How long a request body may take to arrive, in milliseconds. */
  readonly requestTimeoutMs: number;
  readonly testRoutes: boolean;
  /** `performance.now()` when the server was prepared, for `uptimeMs`. */
  readonly startedAt: number;
  /** Your settings (src/config.ts, "Your settings"). */
  readonly app: AppSettings;
  /** What your setup hook returned (src/app/hooks.ts). */
  readonly resources: Resources;
  /** Whether the server still takes new work (`GET /ready`). */
  readonly readiness: Readiness;
}

/** `draining` turns true when the shutdown starts (SIGTERM, SIGINT, Passenger's exit): from
 * then on `GET /ready` answers 503 `draining`, so a load balancer stops sending requests. */
export interface Readiness {
  readonly draining: boolean;
}

/** A route handler. */
export type Handler = (request: ApiRequest, context: ApiContext) => ApiResponse | Promise<ApiResponse>;

/** The methods a route may answer (HEAD is answered by GET). */
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A path and its handler per method, in the order the `Allow` header lists them. The path is
 * written as axum writes it, relative to the base path: `/items/{id}` (one whole segment) or
 * `/files/{*rest}` (the rest of the path, at the end). */
export interface Route {
  readonly path: string;
  readonly methods: Readonly<Partial<Record<Method, Handler>>>;
}

// Routing and error handling shared by the fastify and express adapters: match the raw path
// (base path included) and method like the native router does, run the handler, and turn any
// error into the catalogued JSON answer.
import { performance } from 'node:perf_hooks';
import { describeError, log } from '../log';
import { ApiError, errors } from './errors';
import { type Route, routes } from './routes';
import { testRoutes } from './test-routes';
import type { ApiContext, ApiRequest, ApiResponse, BackendName, Handler } from './types';

/** Settings of an API instance. */
export interface ApiOptions {
  readonly backend: BackendName;
  readonly version: string;
  readonly basePath: string;
  readonly bodyLimit: number;
  readonly hashLimit: number;
  readonly testRoutes: boolean;
  readonly requestTimeoutMs: number;
}

/** A request as the adapters hand it over: method, raw URL and the stream. */
export type RawRequest = Omit<ApiRequest, 'path' | 'query'> & { readonly url: string };

/** Answers one request; never throws. */
export type Dispatch = (request: RawRequest) => Promise<ApiResponse>;

/** Builds the API for one server: its own counter, its own start time. */
export function createDispatch(options: ApiOptions): Dispatch {
  const context: ApiContext = {
    backend: options.backend,
    version: options.version,
    bodyLimit: options.bodyLimit,
    hashLimit: options.hashLimit,
    testRoutes: options.testRoutes,
    requestTimeoutMs: options.requestTimeoutMs,
    startedAt: performance.now(),
    counter: { value: 0 },
  };
  const mounted = options.testRoutes ? [...routes, ...testRoutes] : routes;
  const table = new Map<string, Route>(mounted.map((route) => [options.basePath + route.path, route]));

  return async (raw) => {
    // A fragment never belongs to a request target; the native server (the http crate) drops
    // it, so this does too.
    const hash = raw.url.indexOf('#');
    const url = originForm(hash === -1 ? raw.url : raw.url.slice(0, hash));
    const queryStart = url.indexOf('?');
    const path = queryStart === -1 ? url : url.slice(0, queryStart);
    // The '&' keeps a second '?' as part of the first key, as the native server reads it
    // (the URLSearchParams constructor would drop one leading '?').
    const query = new URLSearchParams(queryStart === -1 ? '' : `&${url.slice(queryStart + 1)}`);
    const request: ApiRequest = { ...raw, path, query };
    try {
      const handler = findHandler(table.get(path), request.method);
      return await handler(request, context);
    } catch (error) {
      return toErrorResponse(error, options.backend, request);
    }
  };
}

/** `http://host/p?q` → `/p?q`: servers must accept the absolute form (RFC 9112 section 3.2.2),
 * and the native server (the http crate) reduces it so. */
function originForm(url: string): string {
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(url);
  if (absolute === null) return url;
  const rest = url.slice(absolute[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

function findHandler(route: Route | undefined, method: string): Handler {
  if (route === undefined) throw errors.notFound();
  const methods = route.methods as Readonly<Record<string, Handler | undefined>>;
  const handler = methods[method] ?? (method === 'HEAD' ? methods.GET : undefined);
  if (handler === undefined) throw errors.methodNotAllowed(allowHeader(route));
  return handler;
}

/** `GET,HEAD,POST`: the methods in declaration order, HEAD after GET (as axum lists them). */
function allowHeader(route: Route): string {
  return Object.keys(route.methods)
    .flatMap((method) => (method === 'GET' ? ['GET', 'HEAD'] : [method]))
    .join(',');
}

function toErrorResponse(error: unknown, backend: BackendName, request: ApiRequest): ApiResponse {
  if (error instanceof ApiError) {
    return { status: error.status, body: error.toBody(), headers: error.headers };
  }
  log(backend, `handler for ${request.method} ${request.path} failed: ${describeError(error)}`);
  const internal = errors.internal();
  return { status: internal.status, body: internal.toBody() };
}

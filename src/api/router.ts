// The route table and the dispatcher shared by the fastify and express adapters: match the raw
// path and the method as the native router (axum, on matchit) does, run the handler, and turn
// any error into the catalogued JSON answer.
//
// Routes are written as axum writes them (`/items/{id}`, `/files/{*rest}`). find-my-way matches
// the paths and nothing else (method resolution, HEAD and 405 are ours). Where it differs from
// matchit, this module adapts it:
// - find-my-way decodes the path before matching (`/h%65alth` would match `/health`, `%zz` would
//   be no match at all); matchit matches the raw bytes. So every `%` is escaped as `%25` before
//   the lookup: find-my-way's decoding then gives back the raw path, static segments compare
//   raw, and parameters come back still encoded, to be decoded here (`%zz` → 400).
// - find-my-way matches an empty last parameter (`/items/` for `/items/{id}`) and an empty
//   wildcard; matchit does not (an empty parameter followed by `/` does match on both). So a
//   parameter that ends the route only matches a non-empty segment (a `([\s\S]+)` regex, which
//   keeps find-my-way's backtracking to other routes), and `{*rest}` is registered as
//   `/:rest([\s\S]+)` (one segment) plus `/:rest/*` (more).
// - find-my-way stops matching parameters longer than 100 characters; matchit has no limit.

import { performance } from 'node:perf_hooks';
import FindMyWay from 'find-my-way';
import { routes } from '../app/routes';
import { describeError, log } from '../log';
import { ApiError } from './errors';
import { healthRoutes } from './health';
import { readyRoutes } from './ready';
import { testRoutes } from './test-routes';
import type { ApiContext, ApiRequest, ApiResponse, BackendName, Handler, Route } from './types';

/** Settings of an API instance: the context its handlers get, without the start time. */
export type ApiOptions = Omit<ApiContext, 'startedAt'>;

/** A request as the adapters hand it over: method, raw URL and the stream. */
export type RawRequest = Omit<ApiRequest, 'path' | 'params' | 'query'> & { readonly url: string };

/** Answers one request; never throws. */
export type Dispatch = (request: RawRequest) => Promise<ApiResponse>;

/** Every route a server serves: `/health`, `/ready`, yours (src/app/routes.ts), and the test-only routes
 * when they are enabled. Built once per server, so per-server state starts afresh. */
export function allRoutes(options: { readonly testRoutes: boolean }): Route[] {
  return [...healthRoutes(), ...readyRoutes(), ...routes(), ...(options.testRoutes ? testRoutes() : [])];
}

/** Builds the API for one server: its route table (an Error here names a bad or duplicate
 * route), its context, its start time. */
export function createDispatch(options: ApiOptions): Dispatch {
  const context: ApiContext = { ...options, startedAt: performance.now() };
  const table = new RouteTable(allRoutes(options));
  const { basePath, backend } = options;

  return async (raw) => {
    // A fragment never belongs to a request target; the native server (the http crate) drops
    // it, so this does too.
    const hash = raw.url.indexOf('#');
    const url = originForm(hash === -1 ? raw.url : raw.url.slice(0, hash));
    const queryStart = url.indexOf('?');
    const fullPath = queryStart === -1 ? url : url.slice(0, queryStart);
    // The '&' keeps a second '?' as part of the first key, as the native server reads it
    // (the URLSearchParams constructor would drop one leading '?').
    const query = new URLSearchParams(queryStart === -1 ? '' : `&${url.slice(queryStart + 1)}`);
    const path = relativePath(fullPath, basePath);
    try {
      const match = path === undefined ? undefined : table.match(path);
      if (path === undefined || match === undefined) throw new ApiError('not_found');
      const handler = findHandler(match.route, raw.method);
      const request: ApiRequest = { ...raw, path, params: decodeParams(match.params), query };
      return await handler(request, context);
    } catch (error) {
      return toErrorResponse(error, backend, raw.method, fullPath);
    }
  };
}

/** The path under the base path, or undefined when the request is not under it. As axum's
 * `nest`: the base path itself is the route `/`, the base path with a trailing slash is no
 * route (an empty last segment). */
function relativePath(path: string, basePath: string): string | undefined {
  if (basePath === '') return path;
  if (path === basePath) return '/';
  if (path.length > basePath.length + 1 && path.startsWith(`${basePath}/`)) return path.slice(basePath.length);
  return undefined;
}

/** `http://host/p?q` → `/p?q`: servers must accept the absolute form (RFC 9112 section 3.2.2),
 * and the native server (the http crate) reduces it so. */
function originForm(url: string): string {
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(url);
  if (absolute === null) return url;
  const rest = url.slice(absolute[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

function findHandler(route: Route, method: string): Handler {
  const methods = route.methods as Readonly<Record<string, Handler | undefined>>;
  const handler = methods[method] ?? (method === 'HEAD' ? methods.GET : undefined);
  if (handler === undefined) throw new ApiError('method_not_allowed', {}, { allow: allowHeader(route) });
  return handler;
}

/** `GET,HEAD,POST`: the methods in declaration order, HEAD after GET (as axum lists them). */
function allowHeader(route: Route): string {
  return Object.keys(route.methods)
    .flatMap((method) => (method === 'GET' ? ['GET', 'HEAD'] : [method]))
    .join(',');
}

/** Percent-decodes each parameter; a malformed escape (`%zz`) or bytes that are not UTF-8
 * (`%FF`) answer 400 `invalid_path_parameter`, as natively. */
function decodeParams(raw: readonly (readonly [string, string])[]): Readonly<Record<string, string>> {
  try {
    return Object.fromEntries(raw.map(([name, value]) => [name, decodeURIComponent(value)]));
  } catch {
    throw new ApiError('invalid_path_parameter');
  }
}

function toErrorResponse(error: unknown, backend: BackendName, method: string, path: string): ApiResponse {
  if (error instanceof ApiError) {
    return { status: error.status, body: error.toBody(), headers: error.headers };
  }
  log(backend, `handler for ${method} ${path} failed: ${describeError(error)}`);
  const internal = new ApiError('internal_error');
  return { status: internal.status, body: internal.toBody(), headers: internal.headers };
}

/** A matched route and its parameters, still percent-encoded, in route order. */
export interface RouteMatch {
  readonly route: Route;
  readonly params: readonly (readonly [string, string])[];
}

/** What find-my-way stores for one of its patterns. */
interface Entry {
  readonly route: Route;
  /** The route's parameter names, in order; find-my-way knows them as p0, p1, … */
  readonly names: readonly string[];
  /** Set on the `/:pN/*` pattern of a catch-all: its value is `pN` + `/` + `*`. */
  readonly multiSegmentCatchAll: boolean;
}

/** One segment of a route path. */
type Segment =
  | { readonly kind: 'static'; readonly text: string }
  | { readonly kind: 'param' | 'catchAll'; readonly name: string };

/** The routes of one server, matched as matchit matches them (see the top of this file). */
export class RouteTable {
  private readonly router = FindMyWay({
    caseSensitive: true,
    ignoreTrailingSlash: false,
    ignoreDuplicateSlashes: false,
    // (useSemicolonDelimiter stays off: `;` is part of the path, as for matchit)
    maxParamLength: Number.MAX_SAFE_INTEGER,
  });

  /** Throws an Error naming the route for a path it cannot serve, a path declared twice, or
   * two paths that axum refuses together (a catch-all beside a parameter). */
  constructor(routes: readonly Route[]) {
    const parsed = routes.map((route) => ({ route, segments: parseRoutePath(route.path) }));
    checkConflicts(parsed);
    for (const { route, segments } of parsed) {
      const names = segments.flatMap((segment) => (segment.kind === 'static' ? [] : [segment.name]));
      let index = 0;
      const pattern = (segment: Segment, last: boolean): string => {
        if (segment.kind === 'static') return segment.text.replaceAll(':', '::');
        // A parameter ending the route matches a non-empty segment only, as in matchit.
        return last ? `:p${index++}([\\s\\S]+)` : `:p${index++}`;
      };
      const last = segments.at(-1);
      const head = segments.slice(0, -1).map((segment) => pattern(segment, false));
      const noop = () => {};
      if (last?.kind === 'catchAll') {
        const lastIndex = index;
        const prefix = ['', ...head].join('/');
        this.router.on('GET', `${prefix}/:p${lastIndex}([\\s\\S]+)`, noop, {
          route,
          names,
          multiSegmentCatchAll: false,
        } satisfies Entry);
        this.router.on('GET', `${prefix}/:p${lastIndex}/*`, noop, {
          route,
          names,
          multiSegmentCatchAll: true,
        } satisfies Entry);
      } else {
        const tail = last === undefined ? [] : [pattern(last, true)];
        const path = ['', ...head, ...tail].join('/') || '/';
        this.router.on('GET', path, noop, { route, names, multiSegmentCatchAll: false } satisfies Entry);
      }
    }
  }

  /** The route for `path` (raw, relative to the base path), with its parameters still
   * percent-encoded; undefined when no route matches. */
  match(path: string): RouteMatch | undefined {
    if (!path.startsWith('/')) return undefined; // `*` (OPTIONS *): never a route
    const found = this.router.find('GET', path.replaceAll('%', '%25'));
    if (found === null) return undefined;
    const entry = found.store as Entry;
    const params = entry.names.map((name, i): [string, string] => {
      const value = found.params[`p${i}`] ?? '';
      const isCatchAll = entry.multiSegmentCatchAll && i === entry.names.length - 1;
      return [name, isCatchAll ? `${value}/${found.params['*'] ?? ''}` : value];
    });
    return { route: entry.route, params };
  }
}

/** `/items/{id}` → its segments. Parameters are whole segments: `{name}`, or `{*name}` last. */
function parseRoutePath(path: string): Segment[] {
  const fail = (why: string) => new Error(`route ${JSON.stringify(path)}: ${why}`);
  if (!path.startsWith('/')) throw fail('a path starts with /');
  if (path === '/') return [];
  const segments = path
    .slice(1)
    .split('/')
    .map((text): Segment => {
      const param = /^\{(\*?)([^{}/*]+)\}$/.exec(text);
      if (param !== null) return { kind: param[1] === '*' ? 'catchAll' : 'param', name: param[2] ?? '' };
      if (/[{}*]/.test(text)) {
        throw fail(`${JSON.stringify(text)} is not supported: a parameter is a whole segment, {name} or {*name}`);
      }
      return { kind: 'static', text };
    });
  if (segments.slice(0, -1).some((segment) => segment.kind === 'catchAll')) {
    throw fail('a catch-all {*name} must be the last segment');
  }
  const names = segments.flatMap((segment) => (segment.kind === 'static' ? [] : [segment.name]));
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated !== undefined) throw fail(`the parameter {${repeated}} appears twice`);
  return segments;
}

/** The conflicts axum refuses at startup: the same path twice (parameter names aside), and a
 * catch-all where another route of the same prefix has a parameter. */
function checkConflicts(parsed: readonly { readonly route: Route; readonly segments: readonly Segment[] }[]): void {
  const shape = (segment: Segment) =>
    segment.kind === 'static' ? `/${segment.text}` : segment.kind === 'param' ? '/{}' : '/{*}';
  const seen = new Map<string, string>();
  for (const { route, segments } of parsed) {
    const key = segments.map(shape).join('') || '/';
    const previous = seen.get(key);
    if (previous !== undefined) {
      throw new Error(
        previous === route.path
          ? `route ${JSON.stringify(route.path)} is declared twice (list its methods in one route)`
          : `routes ${JSON.stringify(previous)} and ${JSON.stringify(route.path)} match the same paths`,
      );
    }
    seen.set(key, route.path);
  }
  for (const { route, segments } of parsed) {
    const last = segments.length - 1;
    if (segments[last]?.kind !== 'catchAll') continue;
    const prefix = segments.slice(0, last).map(shape).join('');
    for (const other of parsed) {
      const at = other.segments[last];
      if (other.route === route || at === undefined || at.kind === 'static') continue;
      if (other.segments.slice(0, last).map(shape).join('') === prefix) {
        throw new Error(
          `routes ${JSON.stringify(route.path)} and ${JSON.stringify(other.route.path)} conflict: a catch-all cannot share its position with a parameter`,
        );
      }
    }
  }
}

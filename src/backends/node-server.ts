// Listening and closing for the JavaScript backends (a plain node:http server underneath).
import { readFileSync, readlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex, Readable } from 'node:stream';
import { JSON_CONTENT_TYPE, toJsonBuffer } from '../api/json';
import { createDispatch, type Dispatch, type RawRequest } from '../api/router';
import type { ApiResponse, BackendName } from '../api/types';
import * as hooks from '../app/hooks';
import { type Config, canonicalIp, type TrustProxy } from '../config';
import { describeError, formatRequestLine, log, logRequestLine } from '../log';
import { findPassenger } from '../targets/passenger';
import type { ListenTarget, RunningServer } from './types';

/** The API of a JavaScript backend, with your resources. */
export interface PreparedApi {
  readonly dispatch: Dispatch;
  /** What `GET /ready` reports; the server sets `draining` when its drain starts. */
  readonly readiness: { draining: boolean };
  /** Runs your close hook; a failure is logged, never thrown. */
  readonly close: () => Promise<void>;
}

/** Runs your setup hook (src/app/hooks.ts), then builds the route table. A setup failure is
 * thrown as `setup failed: <message>`, which stops the start. */
export async function prepareApi(config: Config, backend: BackendName): Promise<PreparedApi> {
  let resources: hooks.Resources;
  try {
    resources = await hooks.setup(config);
  } catch (error) {
    throw new Error(`setup failed: ${describeError(error)}`);
  }
  const readiness = { draining: false };
  const dispatch = createDispatch({
    backend,
    readiness,
    version: config.version,
    basePath: config.basePath,
    bodyLimit: config.bodyLimit,
    requestTimeoutMs: config.requestTimeoutMs,
    testRoutes: config.testRoutes,
    app: config.app,
    resources,
  });
  return {
    dispatch,
    readiness,
    close: () =>
      hooks.close(resources).catch((error: unknown) => {
        log('main', `close failed: ${describeError(error)}`);
      }),
  };
}

/** Largest request head (request line and headers), in bytes: 431 beyond, as natively
 * (native/src/serve/mod.rs MAX_HEADER_BYTES). */
export const MAX_HEADER_BYTES = 64 * 1024; // 64 KiB

/** The node:http server under both JavaScript backends, with the limits they share with the
 * native server: head size, head timeout (slowloris), connection cap. */
export function createNodeServer(
  config: Config,
  handler?: (req: IncomingMessage, res: ServerResponse) => void,
): Server {
  const server = createServer(
    {
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout: config.headerTimeoutMs,
      // The body's own deadline (src/api/body.ts) answers 408 first; this is Node's backstop
      // for a request that never reaches a handler.
      requestTimeout: config.headerTimeoutMs + config.requestTimeoutMs,
      // Node checks those timeouts only this often (30 s by default, far too coarse).
      connectionsCheckingInterval: Math.min(1_000, Math.max(100, Math.floor(config.headerTimeoutMs / 2))),
    },
    handler,
  );
  // Over the cap Node closes new connections at once, as the native server does.
  server.maxConnections = config.maxConnections;
  return server;
}

/** A request that cannot be parsed never reaches the API: answer with a bare status line and
 * close, as Node does by default and as the native server (hyper) does. fastify would send a
 * JSON body of its own shape instead. */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? '431 Request Header Fields Too Large'
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? '408 Request Timeout'
        : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Binds `server` to `target`. The bind itself happens before this returns (for a path or an
 * IP address), which is what the Passenger handoff needs; errors arrive through `listening`. */
export function listenNodeServer(
  server: Server,
  target: ListenTarget,
  readiness: { draining: boolean },
  onClose: () => Promise<void>,
  config: Config,
  backend: BackendName,
): RunningServer {
  // HANDOFF_PROTOCOL=scgi: the same request handler, fed from SCGI connections (src/scgi/).
  if (config.protocol === 'scgi') {
    const { listenScgi } = require('../scgi/server') as typeof import('../scgi/server');
    return listenScgi(server, target, config, readiness, onClose, (scgi) => describeAddress(scgi, target), backend);
  }
  // Node answers `Expect: 100-continue` as soon as the headers arrive; with this listener it
  // does not, and the request's `willReadBody` sends the 100 only when a handler reads the body,
  // as the native server (hyper) does. So a body refused unread is never sent.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => server.emit('request', req, res));
  // A response that closes the connection (a 413) can be written while the client is still
  // sending its body. Node then closes the socket as soon as the response is out, unread body
  // and all: the kernel resets the connection and the client's next write fails (EPIPE) before
  // it reads the answer. Linger instead, as nginx does and as the native server does
  // (native/src/serve/lingering.rs): end our side, keep reading and dropping what comes, until
  // the client closes or 2 s pass. Node calls destroySoon() for exactly this close.
  server.on('connection', (socket: Socket) => {
    socket.destroySoon = function lingeringClose(this: Socket) {
      this.end();
      this.resume(); // read and drop what is left, even once the HTTP parser has let go
      const timer = setTimeout(() => this.destroy(), 2_000); // 2 seconds
      timer.unref();
      this.once('close', () => clearTimeout(timer));
    };
  });
  // Responses still to be written when the drain starts say `Connection: close`, so a
  // keep-alive client (a balancer's pool) opens its next connection elsewhere rather than
  // reusing one the server is about to close, and does not hold the server afterwards.
  const inFlight = new Set<ServerResponse>();
  const stopKeepAlive = () => {
    for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
  };
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (readiness.draining) res.shouldKeepAlive = false;
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });
  return bindServer(server, target, readiness, onClose, {
    component: backend,
    address: () => describeAddress(server, target),
    drain: stopKeepAlive,
    closeAll: () => server.closeAllConnections(),
    // Keep-alive connections with no request in flight would hold close() open.
    closeIdle: () => server.closeIdleConnections(),
  });
}

/** How one kind of server (HTTP, SCGI) drains and closes its connections, for bindServer. */
export interface ConnectionControl {
  /** The component its own log lines name (the backend). */
  readonly component: string;
  /** Where the server listens, for the log. */
  address(): string;
  /** Called when the drain starts (and again at close). */
  drain?(): void;
  /** Closes every connection still open once the grace is over. */
  closeAll(): void;
  /** Called right after the listener is closed, for connections that would hold close() open. */
  closeIdle?(): void;
}

/** Binds `server` to `target` and returns it as a RunningServer whose close stops accepting,
 * waits for the connections to finish (at most `graceMs`, then closes them), then runs
 * `onClose`. The bind happens before this returns (for a path or an IP address); errors arrive
 * through `listening`. Shared by the HTTP server and the SCGI one (src/scgi/server.ts). */
export function bindServer(
  server: NetServer,
  target: ListenTarget,
  readiness: { draining: boolean },
  onClose: () => Promise<void>,
  control: ConnectionControl,
): RunningServer {
  logRefusals(server, control.component);
  const listening = new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  switch (target.kind) {
    case 'path':
      server.listen(target.path);
      break;
    case 'tcp':
      server.listen(target.port, target.host);
      break;
    case 'fd':
      server.listen({ fd: target.fd });
      break;
  }
  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  let closing: Promise<void> | undefined;
  return {
    get address() {
      return control.address();
    },
    get port() {
      const info = server.address();
      return info !== null && typeof info === 'object' ? info.port : undefined;
    },
    listening,
    closed,
    drain() {
      readiness.draining = true;
      control.drain?.();
    },
    close(graceMs) {
      readiness.draining = true;
      closing ??= new Promise<void>((resolve) => {
        control.drain?.();
        const force = setTimeout(() => {
          log('main', `shutdown grace of ${graceMs} ms over; closing the connections still open`);
          control.closeAll();
        }, graceMs);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        control.closeIdle?.();
      })
        .then(onClose)
        .then(resolveClosed);
      return closing;
    },
  };
}

/** Over its cap (`maxConnections`, HANDOFF_MAX_CONNECTIONS) Node closes each new connection at
 * once; this says so once per stretch of refusals (until a connection is taken again), in the
 * native server's words (native/src/serve/mod.rs): `[<component>] N connections open: refusing
 * new ones`. */
function logRefusals(server: NetServer, component: string): void {
  let refusing = false;
  server.on('drop', () => {
    if (refusing) return;
    refusing = true;
    log(component, `${server.maxConnections} connections open: refusing new ones`);
  });
  server.on('connection', () => {
    refusing = false;
  });
}

/** Where `server` listens, for the log. */
function describeAddress(server: { address(): ReturnType<Server['address']> }, target: ListenTarget): string {
  const info = server.address();
  const fd = target.kind === 'fd' ? ` (fd ${target.fd})` : '';
  if (typeof info === 'string' && info !== '') return info + fd;
  if (info !== null && typeof info === 'object') return `${info.address}:${info.port}${fd}`;
  if (target.kind === 'fd') return `${unixSocketPath(target.fd) ?? 'a Unix socket'}${fd}`;
  return target.kind === 'path' ? target.path : '';
}

/** The path a Unix socket passed as descriptor `fd` is bound to (Node only knows the paths it
 * bound itself): its inode, from /proc/self/fd, looked up in /proc/net/unix. Undefined when
 * that cannot be read (not Linux) or the socket has no path. */
function unixSocketPath(fd: number): string | undefined {
  try {
    const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
    if (inode === undefined) return undefined;
    // `Num RefCount Protocol Flags Type St Inode Path`
    for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[6] === inode && fields[7] !== undefined) return fields[7];
    }
  } catch {
    // No /proc: the log names the descriptor only.
  }
  return undefined;
}

/** True for a request target the native server refuses before any route (the http crate's
 * URI parser): `<`, `>` or a backquote in the path, `"`, `<` or `>` in the query. Node accepts
 * them; such a request is answered like a malformed one, with a bare 400. */
export function hasRefusedTargetCharacters(url: string): boolean {
  const target = url.split('#', 1)[0] ?? url;
  const queryStart = target.indexOf('?');
  const path = queryStart === -1 ? target : target.slice(0, queryStart);
  const query = queryStart === -1 ? '' : target.slice(queryStart + 1);
  return /[<>`]/.test(path) || /["<>]/.test(query);
}

/** Answers with a bare status line and closes, as for a request that cannot be parsed. */
export function answerBare(res: ServerResponse, status: number): void {
  res.writeHead(status, { connection: 'close', 'content-length': '0' }).end();
}

/** Logs one line per request when its response has been sent (or the client went away),
 * unless HANDOFF_ACCESS_LOG is off; buffered, as natively (src/log.ts). */
export function logRequest(
  backend: BackendName,
  req: IncomingMessage,
  res: ServerResponse,
  config: Pick<Config, 'trustProxy' | 'accessLog'>,
): void {
  if (!config.accessLog) return;
  const started = performance.now();
  const client = clientAddress(req, config.trustProxy);
  const method = req.method ?? '-';
  const url = req.url ?? '/';
  const path = url.split('?', 1)[0] ?? url;
  res.once('close', () => {
    logRequestLine(backend, formatRequestLine(client, method, path, res.statusCode, performance.now() - started));
  });
}

function clientAddress(req: IncomingMessage, trust: TrustProxy): string {
  // Behind Passenger the peer is Passenger itself, on a Unix socket (its loader even fakes
  // 127.0.0.1 as remoteAddress): only its header names the client, as in the native server.
  if (findPassenger() !== undefined) {
    const header = req.headers['!~passenger-client-address'];
    return typeof header === 'string' ? header : '-';
  }
  return forwardedClient(req.socket.remoteAddress, req.headers, trust);
}

/** The client as the request log names it (native/src/serve/log.rs does the same): the peer's
 * address (`-` on a Unix socket); when the peer is a trusted proxy (HANDOFF_TRUST_PROXY), the
 * address `X-Forwarded-For` gives, read from the right, skipping trusted proxies (all of them
 * with `on`: the leftmost); `/<proto>` appended from a trusted `X-Forwarded-Proto`. */
export function forwardedClient(
  peer: string | undefined,
  headers: IncomingMessage['headers'],
  trust: TrustProxy,
): string {
  const trusted = (address: string) => trust.all || trust.addresses.includes(canonicalIp(address));
  if (!(peer === undefined ? trust.unix || trust.all : trusted(peer))) return peer ?? '-';
  let client = peer ?? '-';
  const hops = headerList(headers['x-forwarded-for']);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (isIP(hop) === 0) break;
    client = hop;
    if (!trusted(hop)) break;
  }
  const proto = headerList(headers['x-forwarded-proto'])[0]?.toLowerCase();
  return proto !== undefined && /^[a-z][a-z0-9+.-]*$/.test(proto) ? `${client}/${proto}` : client;
}

/** The comma-separated items of a header (all its lines), trimmed, empty ones left out. */
function headerList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value.join(',') : value)
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** The neutral request for the dispatcher. */
export function toRawRequest(req: IncomingMessage, res: ServerResponse, body = req as RawRequest['body']): RawRequest {
  let continued = false;
  const willReadBody = () => {
    if (continued || res.headersSent || req.headers.expect?.toLowerCase() !== '100-continue') return;
    continued = true;
    // Passenger Standalone relays an app's interim `100 Continue` glued to the final response,
    // which clients cannot parse (native/src/serve/no_continue.rs has the details); the client
    // sends its body after its own wait instead.
    if (findPassenger() === undefined) res.writeContinue();
  };
  return { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body, willReadBody };
}

/** Headers of an API response: JSON's content type unless a stream brings its own (none for a
 * 204, which has no body), and `Cache-Control: no-store` unless the route sets its own (hosts'
 * caches, LiteSpeed's LSCache among them, would otherwise keep API answers), as the native
 * router does. */
export function responseHeaders(response: ApiResponse): Record<string, string> {
  const own = Object.keys(response.headers ?? {}).some((name) => name.toLowerCase() === 'cache-control');
  const type: Record<string, string> = response.status === 204 ? {} : { 'content-type': JSON_CONTENT_TYPE };
  return { ...type, ...(own ? {} : NO_STORE), ...response.headers };
}

/** The caching header of every API answer that does not set its own. */
export const NO_STORE: Readonly<Record<string, string>> = Object.freeze({ 'cache-control': 'no-store' });

/** The payload to send: the JSON bytes, or the stream, whose failure mid-way is logged and
 * ends the response early (the status is already out), as the native server does. */
export function responsePayload(backend: BackendName, req: IncomingMessage, response: ApiResponse): Buffer | Readable {
  if (response.status === 204) return Buffer.alloc(0);
  if (response.stream === undefined) return toJsonBuffer(response.body);
  response.stream.once('error', (error: Error) => {
    log(backend, `response body of ${req.method} ${req.url?.split('?', 1)[0]} failed: ${error.message}`);
  });
  return response.stream;
}

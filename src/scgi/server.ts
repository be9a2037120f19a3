// Serving the JavaScript backends over SCGI. Each connection carries one request: its head is
// read and checked here (src/scgi/parser.ts), then the request goes to the very node:http
// request handler the HTTP server would call (fastify's or express's), as an IncomingMessage
// whose body streams from the connection, with a ServerResponse whose bytes are rewritten from
// HTTP/1.1 into CGI style (src/scgi/cgi.ts) on their way out. So every route answers over SCGI
// exactly what it answers over HTTP; docs/scgi.md has the rules.
import { type Server as HttpServer, IncomingMessage, ServerResponse, STATUS_CODES } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { ApiError } from '../api/errors';
import { toJsonBuffer } from '../api/json';
import type { BackendName } from '../api/types';
import { bindServer, hasRefusedTargetCharacters } from '../backends/node-server';
import type { ListenTarget, RunningServer } from '../backends/types';
import type { Config } from '../config';
import { log } from '../log';
import { CgiOutput, cgiHead, lingeringEnd } from './cgi';
import { FrameParser, readRequest, type ScgiRequest } from './parser';

/** A request whose body comes from the SCGI connection, as the body of an HTTP request comes
 * from its socket: read on demand (back-pressure pauses the connection). Own properties, not a
 * subclass: express swaps the prototype of every request for its own. */
function createRequest(output: CgiOutput, resume: { source: () => void }): IncomingMessage {
  const req = new IncomingMessage(output as unknown as Socket);
  Object.assign(req, {
    _read(this: IncomingMessage & { _consuming: boolean }) {
      this._consuming = true;
      resume.source();
    },
    // A body cut short fails the handler's read (400 `body_read_failed`, as over HTTP), but the
    // connection stays open for that answer: IncomingMessage's own would destroy it.
    // As IncomingMessage's own: an error nobody listens for is not thrown.
    _destroy(this: IncomingMessage, error: Error | null, callback: (error?: Error | null) => void) {
      callback(this.listenerCount('error') === 0 ? null : error);
    },
  });
  return req;
}

/** Serves `httpServer`'s request handler over SCGI on `target`. */
export function listenScgi(
  httpServer: HttpServer,
  target: ListenTarget,
  config: Config,
  readiness: { draining: boolean },
  onClose: () => Promise<void>,
  describeAddress: (server: Server) => string,
  backend: BackendName,
): RunningServer {
  const connections = new Set<Socket>();
  // allowHalfOpen: a client may shut its side once its request is sent; it still gets the answer.
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
    serveConnection(socket, config, (req, res) => httpServer.emit('request', req, res));
  });
  // Over the cap Node closes new connections at once, as over HTTP.
  server.maxConnections = config.maxConnections;
  return bindServer(server, target, readiness, onClose, {
    component: backend,
    address: () => describeAddress(server),
    closeAll: () => {
      for (const socket of connections) socket.destroy();
    },
  });
}

/** One connection: the head (within the header timeout), then its one request. */
function serveConnection(
  socket: Socket,
  config: Config,
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): void {
  const peer = socket.remoteAddress ?? '-';
  socket.on('error', () => socket.destroy()); // a reset client: nothing to answer
  const parser = new FrameParser();
  const stop = (reason: string) => {
    cleanup();
    log('scgi', `${reason} from ${peer}`);
    socket.destroy();
  };
  const headerTimer = setTimeout(
    () => stop(`header block not complete within ${config.headerTimeoutMs} ms`),
    config.headerTimeoutMs,
  );
  const onData = (chunk: Buffer) => {
    const result = parser.push(chunk);
    if (result.kind === 'more') return;
    if (result.kind === 'error') {
      stop(result.reason);
      return;
    }
    cleanup();
    socket.pause();
    const checked = readRequest(result.pairs);
    if (!checked.ok) {
      log('scgi', `${checked.reason} from ${peer}: 400`);
      answerBadRequest(socket);
      return;
    }
    // Answered by the handler, with the bare 400 the HTTP server gives such a target; the
    // native server finds it while reading the head and logs it there, so this does too.
    if (hasRefusedTargetCharacters(checked.request.url)) {
      log('scgi', `REQUEST_URI has a character a URI refuses from ${peer}: 400`);
    }
    serveRequest(socket, checked.request, result.rest, config, handle);
  };
  const onEnd = () => {
    // A connection closed before sending anything (a port check) is not worth a line.
    if (parser.pending === 0) {
      cleanup();
      socket.destroy();
    } else {
      stop('connection closed before the header block was complete');
    }
  };
  const cleanup = () => {
    clearTimeout(headerTimer);
    socket.off('data', onData);
    socket.off('end', onEnd);
  };
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.once('close', () => clearTimeout(headerTimer));
}

/** Passes the request to the handler, streams its body, writes its answer CGI style, closes. */
function serveRequest(
  socket: Socket,
  request: ScgiRequest,
  rest: Buffer,
  config: Config,
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): void {
  const output = new CgiOutput(socket, request.remoteAddress, request.remotePort);
  output.on('error', () => {}); // the connection failed: the response's own 'close' says so
  const resume: { source: () => void } = { source: () => void socket.resume() };
  const req = createRequest(output, resume);
  req.method = request.method;
  req.url = request.url;
  req.httpVersion = '1.1';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.headers = { ...request.headers };
  req.rawHeaders = [...request.rawHeaders];
  const res = new ServerResponse(req);
  // Never chunked, never kept alive: a body of unknown length is written raw, then the close.
  res.useChunkedEncodingByDefault = false;
  res.shouldKeepAlive = false;
  res.assignSocket(output as unknown as Socket);
  // The HTTP server forwards the socket's `drain` to the response it writes; so do we.
  output.on('drain', () => {
    if (res.writableNeedDrain) res.emit('drain');
  });

  let remaining = request.contentLength;
  // Node's backstop for a request that never completes (src/backends/node-server.ts).
  const backstop = setTimeout(() => {
    log('scgi', `request body not complete within ${config.headerTimeoutMs + config.requestTimeoutMs} ms`);
    socket.destroy();
  }, config.headerTimeoutMs + config.requestTimeoutMs);
  const take = (chunk: Buffer) => {
    if (remaining === 0) return; // bytes after the body: ignored
    const part = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
    remaining -= part.length;
    const more = req.push(part);
    if (remaining === 0) finishBody();
    else if (!more) socket.pause();
  };
  const finishBody = () => {
    clearTimeout(backstop);
    req.complete = true;
    req.push(null);
    // What follows the body is read and dropped, so that the client is never blocked on it.
    resume.source = () => {};
    socket.resume();
  };
  socket.on('data', take);
  socket.once('end', () => {
    if (remaining > 0 && !res.writableFinished) {
      clearTimeout(backstop);
      req.destroy(new Error(`the connection ended ${remaining} bytes before the end of the body`));
    }
  });
  socket.once('close', () => {
    clearTimeout(backstop);
    if (remaining > 0 && !req.destroyed && !res.writableFinished)
      req.destroy(new Error('the connection closed before the end of the body'));
    // Frees the response: its 'close' fires (the request log) even when it never finished.
    output.destroy();
  });
  res.once('finish', () => {
    socket.off('data', take);
    output.end(() => output.destroy());
  });
  if (remaining === 0) finishBody();
  else if (rest.length > 0) take(rest);
  handle(req, res);
  // The handler reads the body or not; a body nobody reads must not stall the connection
  // forever (the backstop closes it), and one read later resumes it through _read.
}

/** The answer to a well-framed but invalid request: the catalogue's `bad_request`, with the
 * headers every backend sends with it, then the close. */
function answerBadRequest(socket: Socket): void {
  const error = new ApiError('bad_request');
  const body = toJsonBuffer(error.toBody());
  const head = cgiHead(
    error.status,
    [
      ['content-type', 'application/json; charset=utf-8'],
      ['cache-control', 'no-store'],
      ['content-length', String(body.length)],
      ['date', new Date().toUTCString()],
    ],
    STATUS_CODES[error.status],
  );
  socket.write(Buffer.concat([head, body]));
  lingeringEnd(socket);
}

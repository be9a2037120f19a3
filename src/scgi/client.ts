// `passenger-handoff scgi <socket-path | host:port> <METHOD> <path> [-H 'Name: value']…
// [-d <data> | --data-binary @file]`: sends one SCGI request the way nginx does (the variables
// of its scgi_params, CONTENT_LENGTH first, client headers as HTTP_*) and prints the answer as
// it comes, head and body (`curl -i` style). "Is it the app or nginx?": ask the app directly.
// Exit status 0 once an answer came, 1 on a transport failure (no connection, no answer, a
// reset), 2 on a usage error.
import { createReadStream, statSync } from 'node:fs';
import { connect, isIP } from 'node:net';
import { parseArgs } from 'node:util';

export const SCGI_USAGE = `Usage: passenger-handoff scgi <socket-path | host:port> <METHOD> <path> [-H 'Name: value']... [-d <data> | --data-binary @file]

Sends one SCGI request to the app, as nginx's scgi_pass with scgi_params would, and prints the
answer as it comes: the Status line, the headers, a blank line, the body.
  -H, --header 'Name: value'   a request header (repeat for more); sent as HTTP_NAME
  -d, --data <data>            the request body (no Content-Type is added: give one with -H)
  --data-binary @file          the request body from a file, streamed (its size is CONTENT_LENGTH)
  --max-time <seconds>         give up after this long (default 30)
Exit status: 0 when an answer came, 1 when none did (connection refused or reset, closed with no
answer, time out), 2 on a usage error.
`;

/** Where to connect: a path (anything with a `/`), or `host:port` (`[::1]:4000` for IPv6). */
export function parseTarget(value: string): { socketPath: string } | { host: string; port: number } | undefined {
  if (value.includes('/')) return { socketPath: value };
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  if (match === null) return undefined;
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (port < 1 || port > 65535 || (match[1] !== undefined && isIP(host) !== 6)) return undefined;
  return { host, port };
}

/** The variables nginx sends (conf/scgi_params), for `method` and `target`, with `headers`
 * (`Name: value` lines) as HTTP_*; `Host` defaults to the server's name. */
export function requestVariables(
  method: string,
  target: string,
  headers: readonly (readonly [string, string])[],
  bodyLength: number,
  server: { host: string; port: number } | undefined,
): [string, string][] {
  const query = target.includes('?') ? target.slice(target.indexOf('?') + 1) : '';
  const contentType = headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1] ?? '';
  const serverName = server?.host ?? 'localhost';
  const variables: [string, string][] = [
    ['CONTENT_LENGTH', String(bodyLength)],
    ['REQUEST_METHOD', method],
    ['REQUEST_URI', target],
    ['QUERY_STRING', query],
    ['CONTENT_TYPE', contentType],
    ['DOCUMENT_URI', target.split('?', 1)[0] ?? target],
    ['DOCUMENT_ROOT', '/'],
    ['SCGI', '1'],
    ['SERVER_PROTOCOL', 'HTTP/1.1'],
    ['REQUEST_SCHEME', 'http'],
    ['REMOTE_ADDR', '127.0.0.1'],
    ['REMOTE_PORT', '0'],
    ['SERVER_PORT', String(server?.port ?? 80)],
    ['SERVER_NAME', serverName],
  ];
  if (!headers.some(([name]) => name.toLowerCase() === 'host')) variables.push(['HTTP_HOST', serverName]);
  for (const [name, value] of headers) variables.push([`HTTP_${name.toUpperCase().replaceAll('-', '_')}`, value]);
  return variables;
}

/** The netstring of `variables`. */
export function encodeHead(variables: readonly (readonly [string, string])[]): Buffer {
  const block = Buffer.concat(variables.flatMap(([name, value]) => [Buffer.from(`${name}\0${value}\0`, 'utf8')]));
  return Buffer.concat([Buffer.from(`${block.length}:`), block, Buffer.from(',')]);
}

/** Runs the command; resolves with the exit status. `out` and `err` are stdout and stderr. */
export function scgiCli(
  argv: readonly string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): number | Promise<number> {
  const usage = (message: string) => {
    err.write(`[scgi] ${message}\n\n${SCGI_USAGE}`);
    return 2;
  };
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 3) return usage('expected <socket-path | host:port> <METHOD> <path>');
  const [where = '', method = '', target = ''] = positionals;
  const endpoint = parseTarget(where);
  if (endpoint === undefined) return usage(`not a socket path nor host:port: ${JSON.stringify(where)}`);
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(method)) return usage(`not a method: ${JSON.stringify(method)}`);
  if (!target.startsWith('/')) return usage(`the path must start with /: ${JSON.stringify(target)}`);
  const headers: [string, string][] = [];
  for (const line of values.header ?? []) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return usage(`not a header line: ${JSON.stringify(line)}`);
    headers.push([name, line.slice(colon + 1).trim()]);
  }
  if (values.data !== undefined && values['data-binary'] !== undefined)
    return usage('give -d or --data-binary, not both');
  let body: Buffer | { file: string; size: number } = Buffer.alloc(0);
  if (values.data !== undefined) body = Buffer.from(values.data, 'utf8');
  const binary = values['data-binary'];
  if (binary !== undefined) {
    if (!binary.startsWith('@')) body = Buffer.from(binary, 'utf8');
    else {
      const file = binary.slice(1);
      try {
        body = { file, size: statSync(file).size };
      } catch (error) {
        return usage(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      }
    }
  }
  const maxTime = Number(values['max-time'] ?? '30');
  if (!(maxTime > 0)) return usage(`--max-time must be a positive number of seconds`);
  const length = Buffer.isBuffer(body) ? body.length : body.size;
  const head = encodeHead(requestVariables(method, target, headers, length, 'host' in endpoint ? endpoint : undefined));
  return new Promise<number>((resolve) => {
    const socket = 'socketPath' in endpoint ? connect(endpoint.socketPath) : connect(endpoint.port, endpoint.host);
    let received = 0;
    let settled = false;
    const finish = (status: number, message?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (message !== undefined) err.write(`[scgi] ${message}\n`);
      resolve(status);
    };
    const timer = setTimeout(() => finish(1, `no complete answer within ${maxTime} s`), maxTime * 1000);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      out.write(chunk);
    });
    socket.on('end', () =>
      received > 0 ? finish(0) : finish(1, 'the server closed the connection without an answer'),
    );
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const what = received > 0 ? `the connection failed after ${received} bytes of the answer` : 'no answer';
      finish(1, `${what}: ${error.code ?? error.message}`);
    });
    socket.once('connect', () => {
      if (Buffer.isBuffer(body)) {
        socket.write(Buffer.concat([head, body]));
        return;
      }
      socket.write(head);
      const stream = createReadStream(body.file);
      stream.on('error', (error) => finish(1, `cannot read ${body.file}: ${error.message}`));
      stream.pipe(socket, { end: false });
    });
  });
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      header: { type: 'string', short: 'H', multiple: true },
      data: { type: 'string', short: 'd' },
      'data-binary': { type: 'string' },
      'max-time': { type: 'string' },
    },
    strict: true,
    allowPositionals: true,
  });
}

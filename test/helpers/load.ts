// A load generator for the restart tests: `concurrency` clients, each sending one request after
// another on a fresh connection (as a balancer without keep-alive does), counting what a user
// would see. Bounded: it stops when told, or after `maxRequests`.
import { performance } from 'node:perf_hooks';
import { type Endpoint, type Reply, type RequestOptions, send } from './http';

/** What the load saw. */
export interface LoadFigures {
  sent: number;
  /** Answered with the expected status. */
  ok: number;
  /** Connection refused (or the socket file missing): nobody was listening. */
  refused: number;
  /** Anything else: a reset, a hang-up, a timeout, another status. */
  failed: number;
  /** The longest a request took from connect to the end of the answer, in ms. */
  longestMs: number;
  /** A few failures, for the assertion message. */
  readonly samples: string[];
}

export interface Load {
  readonly figures: LoadFigures;
  /** Stops sending and resolves once every client's last request has ended. */
  stop(): Promise<LoadFigures>;
}

/** Starts the load: `next(i)` gives the i-th request and the status it must answer. */
export function startLoad(
  endpoint: Endpoint | (() => Endpoint),
  concurrency: number,
  next: (i: number) => { request: RequestOptions; status: number },
  maxRequests = 200_000,
  seen: (reply: Reply) => void = () => {},
): Load {
  const figures: LoadFigures = { sent: 0, ok: 0, refused: 0, failed: 0, longestMs: 0, samples: [] };
  let stopped = false;
  const note = (what: string) => {
    if (figures.samples.length < 10) figures.samples.push(what);
  };
  const client = async () => {
    while (!stopped && figures.sent < maxRequests) {
      const { request, status } = next(figures.sent);
      figures.sent++;
      const started = performance.now();
      try {
        const target = typeof endpoint === 'function' ? endpoint() : endpoint;
        const reply = await send(target, { timeoutMs: 30_000, ...request });
        seen(reply);
        if (reply.status === status) figures.ok++;
        else {
          figures.failed++;
          note(`${request.method ?? 'GET'} ${request.path}: ${reply.status} ${reply.text.slice(0, 200)}`);
        }
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        if (code === 'ECONNREFUSED' || code === 'ENOENT') figures.refused++;
        else figures.failed++;
        note(`${request.method ?? 'GET'} ${request.path}: ${code}`);
      }
      figures.longestMs = Math.max(figures.longestMs, performance.now() - started);
    }
  };
  const clients = Array.from({ length: concurrency }, () => client());
  return {
    figures,
    async stop() {
      stopped = true;
      await Promise.all(clients);
      return figures;
    },
  };
}

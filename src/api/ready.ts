// `GET /ready`: whether this server takes new work, for load balancers and deploy scripts. 200
// while serving; 503 `draining` once the shutdown has started (SIGTERM, SIGINT, Passenger's
// exit), so a balancer that polls it stops sending requests before the listener closes
// (HANDOFF_DRAIN_DELAY_MS keeps it open meanwhile); 503 `not_ready` while one of your checks
// (src/app/hooks.ts `checks`, as `/health` reports them) is down. `/health` stays 200: the
// process is alive.
import * as hooks from '../app/hooks';
import { describeError, log } from '../log';
import { ApiError } from './errors';
import type { Handler, Route } from './types';

/** 200 `{"status":"ready"}`, 503 `draining`, or 503 `not_ready` naming the checks down. */
export const readyGet: Handler = async (_request, context) => {
  if (context.readiness.draining) throw new ApiError('draining');
  let found: Record<string, boolean> = {};
  try {
    // Optional, as for /health; checks that throw count as none, as for /health.
    const { checks } = hooks as Partial<typeof hooks>;
    found = checks === undefined ? {} : await checks(context.resources);
  } catch (error) {
    log(context.backend, `health checks failed: ${describeError(error)}`);
  }
  const down = Object.keys(found).filter((name) => found[name] !== true);
  if (down.length > 0) throw new ApiError('not_ready', { down: down.join(', ') });
  return { status: 200, body: { status: 'ready' } };
};

/** The core route `/ready`. */
export function readyRoutes(): Route[] {
  return [{ path: '/ready', methods: { GET: readyGet } }];
}

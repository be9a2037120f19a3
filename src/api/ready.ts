// `GET /ready`: whether this server takes new work, for load balancers and deploy scripts. 200
// while serving; 503 `draining` once the shutdown has started (SIGTERM, SIGINT, Passenger's
// exit), so a balancer that polls it stops sending requests before the listener closes
// (HANDOFF_DRAIN_DELAY_MS keeps it open meanwhile). `/health` stays 200: the process is alive.
import { ApiError } from './errors';
import type { Handler, Route } from './types';

/** 200 `{"status":"ready"}`, or 503 `draining`. */
export const readyGet: Handler = (_request, context) => {
  if (context.readiness.draining) throw new ApiError('draining');
  return { status: 200, body: { status: 'ready' } };
};

/** The core route `/ready`. */
export function readyRoutes(): Route[] {
  return [{ path: '/ready', methods: { GET: readyGet } }];
}

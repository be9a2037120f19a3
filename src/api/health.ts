// `GET /health`: the core route every backend serves, which the tests and the deploy checks use.
import { performance } from 'node:perf_hooks';
import type { Handler, Route } from './types';

/** Which backend answered, and since when. */
export const healthGet: Handler = (_request, context) => ({
  status: 200,
  body: {
    status: 'ok',
    backend: context.backend,
    version: context.version,
    pid: process.pid,
    uptimeMs: Math.floor(performance.now() - context.startedAt),
  },
});

/** The core routes: `/health`. */
export function healthRoutes(): Route[] {
  return [{ path: '/health', methods: { GET: healthGet } }];
}

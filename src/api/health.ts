// `GET /health`: the core route every backend serves, which the tests and the deploy checks use.
import { performance } from 'node:perf_hooks';
import * as hooks from '../app/hooks';
import { describeError, log } from '../log';
import type { Handler, Route } from './types';

/** Which backend answered, since when, and what the app's checks say (src/app/hooks.ts
 * `checks`): `checks` by name, `"up"` or `"down"`, when there is at least one; `status` is
 * `degraded` when one is down. Always 200: the process is alive either way. */
export const healthGet: Handler = async (_request, context) => {
  let found: Record<string, boolean>;
  try {
    // Optional: hooks without `checks` report none.
    const { checks } = hooks as Partial<typeof hooks>;
    found = checks === undefined ? {} : await checks(context.resources);
  } catch (error) {
    log(context.backend, `health checks failed: ${describeError(error)}`);
    found = {};
  }
  const names = Object.keys(found);
  const degraded = names.some((name) => found[name] !== true);
  return {
    status: 200,
    body: {
      status: degraded ? 'degraded' : 'ok',
      backend: context.backend,
      version: context.version,
      pid: process.pid,
      uptimeMs: Math.floor(performance.now() - context.startedAt),
      ...(names.length > 0
        ? { checks: Object.fromEntries(names.map((name) => [name, found[name] === true ? 'up' : 'down'])) }
        : {}),
    },
  };
};

/** The core routes: `/health`. */
export function healthRoutes(): Route[] {
  return [{ path: '/health', methods: { GET: healthGet } }];
}

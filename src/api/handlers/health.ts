import { performance } from 'node:perf_hooks';
import type { Handler } from '../types';

/** `GET /health`: which backend answered, and since when. */
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

// Routes for the tests, mounted only with HANDOFF_TEST_ROUTES=1 (never by default). The native
// server has the same ones (native/src/api/test_routes.rs); the infrastructure tests (shutdown,
// lingering close, smuggling, panics, timeouts, path parameters) use these, never the demo.
import { Readable } from 'node:stream';
import { streamBody } from './body';
import type { Route } from './types';

/** The test routes of one server (its own `/__test/count`):
 * - `GET /__test/panic` throws; `GET /__test/panic-in-body` fails after its first chunk;
 * - `POST /__test/upload` reads the body within HANDOFF_BODY_LIMIT: `{"bytes":N}`;
 * - `GET|POST /__test/count`: `{"value":N}`, POST adds one;
 * - `GET /__test/params/{a}/{b}` and `GET /__test/files/{*rest}`: the decoded parameters and
 *   the raw relative path;
 * - `GET /__test/cached`: `{"cached":true}` with its own `Cache-Control: max-age=60`. */
export function testRoutes(): Route[] {
  const count = { value: 0 };
  return [
    {
      path: '/__test/panic',
      methods: {
        GET: () => {
          throw new Error('a throw on purpose (HANDOFF_TEST_ROUTES)');
        },
      },
    },
    {
      path: '/__test/panic-in-body',
      methods: {
        GET: () => ({
          status: 200,
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          stream: Readable.from(
            (function* () {
              yield Buffer.from('partial ');
              throw new Error('a throw on purpose while the body streams (HANDOFF_TEST_ROUTES)');
            })(),
          ),
        }),
      },
    },
    {
      path: '/__test/upload',
      methods: {
        POST: async (request, context) => ({
          status: 200,
          body: { bytes: await streamBody(request, context, () => {}) },
        }),
      },
    },
    {
      path: '/__test/count',
      methods: {
        GET: () => ({ status: 200, body: { value: count.value } }),
        POST: () => {
          // A JavaScript server runs handlers on one thread: `+=` cannot race.
          count.value += 1;
          return { status: 200, body: { value: count.value } };
        },
      },
    },
    {
      path: '/__test/params/{a}/{b}',
      methods: {
        GET: (request) => ({
          status: 200,
          body: { a: request.params.a, b: request.params.b, path: request.path },
        }),
      },
    },
    {
      path: '/__test/cached',
      methods: {
        GET: () => ({ status: 200, headers: { 'cache-control': 'max-age=60' }, body: { cached: true } }),
      },
    },
    {
      path: '/__test/files/{*rest}',
      methods: {
        GET: (request) => ({ status: 200, body: { rest: request.params.rest, path: request.path } }),
      },
    },
  ];
}

// Routes that fail on purpose, for the robustness tests; mounted only with
// HANDOFF_TEST_ROUTES=1 (never by default). The native server has the same two
// (native/src/api/test_routes.rs).
import { Readable } from 'node:stream';
import type { Route } from './routes';

/** `GET /__test/panic` throws; `GET /__test/panic-in-body` fails after its first chunk. */
export const testRoutes: readonly Route[] = [
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
];

// GET /ready with the notes' database check, on every backend: while the database is down the
// server is not ready (503 not_ready naming it; /health stays 200, `degraded`), and once the
// shutdown starts it is draining whatever the database says.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { backendUnavailable } from '../helpers/backends';
import { expectError, expectJson } from '../helpers/expect';
import { freePort } from '../helpers/util';
import { Fixtures } from './notes-servers';

const fixtures = new Fixtures();
after(() => fixtures.cleanUp());

describe('GET /ready and the database check', () => {
  for (const backend of ['native', 'fastify', 'express'] as const) {
    it(`${backend}: 503 not_ready while the database is down, then draining at SIGTERM`, async (t) => {
      const why = backendUnavailable(backend);
      if (why !== undefined) return t.skip(why);
      // A MySQL URL where nothing listens: the app starts, the database is down.
      const port = await freePort();
      const server = await fixtures.serve(backend, {
        DATABASE_URL: `mysql://app:secret@127.0.0.1:${port}/app`,
        HANDOFF_DRAIN_DELAY_MS: '2000',
      });
      const health = expectJson(await server.call({ path: '/health' }), 200) as { status: string; checks: unknown };
      assert.deepEqual([health.status, health.checks], ['degraded', { database: 'down' }]);
      expectError(await server.call({ path: '/ready' }), 'not_ready', { down: 'database' });

      server.app.kill('SIGTERM');
      await server.app.waitForLine(/^\[main\] SIGTERM: \/ready answers 503; still accepting for 2000 ms$/);
      expectError(await server.call({ path: '/ready' }), 'draining', {}, { connection: 'close' });
      assert.deepEqual(await server.app.exited, { code: 0, signal: null });
    });
  }
});

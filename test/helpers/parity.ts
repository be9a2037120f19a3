// Differential parity: the same requests sent to every backend in BACKENDS; whatever one backend
// answers, the others must answer identically (status, content type, Cache-Control, Allow, connection, body
// bytes). The core's requests are in test/contract/parity.test.ts.
// The demo's are in test/examples/parity.test.ts. // [examples]
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS, backendUnavailable, type StartedBackend, startBackend } from './backends';
import { type RequestOptions, send } from './http';

/** A `describe` that starts every available backend with `env` and checks that each request of
 * `requests` gets the same answer from all of them. */
export function describeParity(
  title: string,
  requests: readonly RequestOptions[],
  env: Readonly<Record<string, string>> = {},
): void {
  describe(title, () => {
    const started = new Map<string, StartedBackend>();

    before(async () => {
      for (const backend of BACKENDS) {
        if (backendUnavailable(backend) === undefined) started.set(backend, await startBackend(backend, 'unix', env));
      }
    });
    after(async () => {
      for (const server of started.values()) await server.stop();
    });

    for (const request of requests) {
      const label = `${request.method ?? 'GET'} ${request.path} ${String(request.body ?? '').slice(0, 40)}`;
      it(label, async (t) => {
        if (started.size < 2) {
          t.skip(`needs two backends at least (running: ${[...started.keys()].join(', ') || 'none'})`);
          return;
        }
        const answers = new Map<string, unknown>();
        for (const [backend, server] of started) {
          const reply = await send(server.endpoint, request);
          answers.set(backend, {
            status: reply.status,
            contentType: reply.headers['content-type'],
            cacheControl: reply.headers['cache-control'],
            allow: reply.headers.allow,
            connection: reply.headers.connection === 'close' ? 'close' : 'keep-alive',
            body: reply.text,
          });
        }
        const [first, ...rest] = [...answers.entries()];
        assert.ok(first, 'at least one backend ran');
        for (const [backend, answer] of rest) {
          assert.deepEqual(answer, first[1], `${backend} differs from ${first[0]}`);
        }
      });
    }
  });
}

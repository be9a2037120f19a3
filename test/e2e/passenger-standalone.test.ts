// The contract suite through real Phusion Passenger Standalone (Debian's package), for every
// backend, with and without a base path; then Passenger stops the app,
// which must exit cleanly.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config';
import { type ContractTarget, defineContractTests } from '../contract/suite';
import { BACKENDS, backendUnavailable, TEST_ENV } from '../helpers/backends';
import { send } from '../helpers/http';
import { type PassengerInstance, passengerUnavailable, startPassenger } from '../helpers/passenger';
import { unlessMissing } from '../helpers/util';

const VERSION = loadConfig({}).version;

/** Sends `head`, then `body` 300 ms later (as curl does when no 100 Continue comes), and
 * returns everything the server sent until it closed (the head asks it to, with
 * `Connection: close`; after 10 s the socket is closed here all the same). */
function rawExchange(port: number, head: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.write(head);
    setTimeout(() => socket.write(body), 300);
    setTimeout(() => socket.destroy(), 10_000);
  });
}

for (const backend of BACKENDS) {
  for (const basePath of ['', '/api']) {
    const title = `${backend} under Passenger Standalone${basePath ? ` with base path ${basePath}` : ''}`;
    describe(title, { skip: backendUnavailable(backend) ?? unlessMissing(passengerUnavailable()) }, () => {
      let passenger: PassengerInstance | undefined;
      let target: ContractTarget | undefined;
      let stopped: Awaited<ReturnType<PassengerInstance['stop']>> | undefined;

      before(async () => {
        // Not PASSENGER_BASE_URI: Passenger owns that variable (it unsets it for a base URI of /,
        // whatever --envvar says), and Standalone has no base URI option.
        const env = { ...TEST_ENV, HANDOFF_BACKEND: backend, ...(basePath ? { HANDOFF_BASE_PATH: basePath } : {}) };
        passenger = await startPassenger({ env, healthPath: `${basePath}/health` });
        target = {
          endpoint: { host: '127.0.0.1', port: passenger.port },
          backend,
          basePath,
          version: VERSION,
          direct: false,
        };
      });
      after(async () => {
        if (passenger !== undefined && stopped === undefined) await passenger.stop();
      });

      defineContractTests(() => {
        if (target === undefined) throw new Error('Passenger did not start (see the skip reason above)');
        return target;
      });

      it('took over the socket Passenger assigned, and logs each request', async () => {
        assert.ok(passenger, 'Passenger is running');
        await send(target?.endpoint ?? { socketPath: '' }, { path: `${basePath}/health` });
        const log = passenger.readLog();
        assert.match(log, /\[main\] took over Passenger's socket \/\S+/);
        assert.match(log, new RegExp(`\\[main\\] serving with ${backend} on /`));
        // Standalone passes no client address to the app (no !~passenger-client-address), so
        // every backend logs `-` here; behind Apache's module the header names the client.
        assert.match(log, new RegExp(`\\[${backend}\\] - GET ${basePath}/health 200 \\d+\\.\\d{2}ms`));
      });

      it('answers uploads sent with Expect: 100-continue with a well-formed response', async () => {
        assert.ok(passenger, 'Passenger is running');
        const cases: [string, string, RegExp][] = [
          ['transfer-encoding: chunked', '5\r\nhello\r\n0\r\n\r\n', /^HTTP\/1\.1 200 OK\r\n[\s\S]*\{"bytes":5\}$/],
          ['content-length: 5', 'hello', /^HTTP\/1\.1 200 OK\r\n[\s\S]*\{"bytes":5\}$/],
          ['content-length: 99999999', '', /^HTTP\/1\.1 413 [^\r]*\r\n[\s\S]*"payload_too_large"/],
        ];
        for (const [framing, body, expected] of cases) {
          const head = `POST ${basePath}/__test/upload HTTP/1.1\r\nHost: localhost\r\n${framing}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`;
          const raw = await rawExchange(passenger.port, head, body);
          assert.match(raw, expected, `${framing}: ${JSON.stringify(raw.slice(0, 120))}`);
        }
      });

      it('exits cleanly when Passenger stops it', async () => {
        assert.ok(passenger, 'Passenger is running');
        const pids = passenger.appPids();
        assert.ok(pids.length > 0, 'the app process is known');
        stopped = await passenger.stop();
        const log = passenger.readLog();
        assert.match(log, /\[main\] Passenger asked the app to exit: finishing in-flight requests/);
        assert.match(log, /\[main\] stopped/);
        for (const pid of pids) {
          assert.throws(() => process.kill(pid, 0), /ESRCH/, `app process ${pid} is gone`);
        }
      });
    });
  }
}

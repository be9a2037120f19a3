// The socket taken over from Passenger keeps the permissions Passenger's had. Real Passenger
// (test/e2e) creates its socket with the process umask, the same mode our bind gets, so a
// missing restore would go unnoticed there. Here a stand-in for the loader's capture of
// listen('passenger') (phusion/passenger src/helper-scripts/node-loader.js) gives its socket an
// unusual mode, and each backend must leave it as it was.
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { type AppProcess, startApp, tempDir } from '../helpers/app-process';
import { BACKENDS, requireBackend } from '../helpers/backends';
import { send } from '../helpers/http';

const MODE = 0o604; // no umask yields this

/** A preload defining PhusionPassenger and capturing listen('passenger') onto `socketPath`. */
function writeLoaderStandIn(dir: string, socketPath: string): string {
  const file = path.join(dir, 'passenger-stand-in.cjs');
  writeFileSync(
    file,
    `'use strict';
const http = require('node:http');
const fs = require('node:fs');
const { EventEmitter } = require('node:events');
const passenger = new EventEmitter();
let capture = true;
passenger.configure = (options) => { capture = options.autoInstall !== false; };
globalThis.PhusionPassenger = passenger;
const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (...args) {
  if (args[0] !== 'passenger') return listen.apply(this, args);
  const callback = args.find((a) => typeof a === 'function');
  return listen.call(this, ${JSON.stringify(socketPath)}, () => {
    fs.chmodSync(${JSON.stringify(socketPath)}, ${MODE});
    if (callback) callback.call(this);
  });
};
`,
  );
  return file;
}

const running: AppProcess[] = [];
after(() => {
  for (const app of running) app.kill();
});

describe('the socket taken over from Passenger', () => {
  for (const backend of BACKENDS) {
    it(`${backend}: keeps the mode Passenger gave it`, async (t) => {
      if (!requireBackend(t, backend)) return;
      const dir = tempDir();
      const socketPath = path.join(dir, 'passenger.sock');
      const preload = writeLoaderStandIn(dir, socketPath);
      const app = startApp({ HANDOFF_BACKEND: backend }, [process.execPath, '--require', preload, 'app.js']);
      running.push(app);
      await app.waitForLine(new RegExp(`^\\[main\\] serving with ${backend} on `));
      assert.ok(app.lines().includes(`[main] took over Passenger's socket ${socketPath}`), app.lines().join('\n'));
      assert.equal((statSync(socketPath).mode & 0o777).toString(8), MODE.toString(8));
      const health = await send({ socketPath }, { path: '/health' });
      assert.equal((health.json() as { backend: string }).backend, backend);
      app.kill('SIGTERM');
      assert.deepEqual(await app.exited, { code: 0, signal: null });
    });
  }
});

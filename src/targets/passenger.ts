// The Passenger handoff. Passenger's Node loader captures `listen('passenger')`, binds a Unix
// socket of its choosing, runs our callback synchronously, and only on the next tick tells
// Passenger the address; so inside the callback we close its server (which unlinks the file)
// and bind ours on the same path before returning. See phusion/passenger
// src/helper-scripts/node-loader.js and docs/hosting.md.
import { chmodSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Backend, RunningServer } from '../backends/types';
import { log } from '../log';

/** The part of Passenger's `global.PhusionPassenger` we use. */
export interface PhusionPassenger {
  configure(options: { autoInstall: boolean }): void;
  on(event: 'exit', listener: () => void): unknown;
}

/** The loader's global, when running under Passenger. */
export function findPassenger(): PhusionPassenger | undefined {
  return (globalThis as { PhusionPassenger?: PhusionPassenger }).PhusionPassenger;
}

/** Takes over the socket Passenger assigned and serves `backend` on it. */
export function listenUnderPassenger(passenger: PhusionPassenger, backend: Backend): Promise<RunningServer> {
  // Without this the loader would capture the first listen() of any server, ours included.
  passenger.configure({ autoInstall: false });
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen('passenger', () => {
      try {
        const path = probe.address();
        if (typeof path !== 'string') throw new Error(`Passenger assigned ${JSON.stringify(path)}, not a socket path`);
        const mode = statSync(path).mode & 0o777;
        probe.close();
        const server = backend.listen({ kind: 'path', path });
        chmodSync(path, mode);
        log('main', `took over Passenger's socket ${path}`);
        resolve(server);
      } catch (error) {
        reject(error);
      }
    });
  });
}

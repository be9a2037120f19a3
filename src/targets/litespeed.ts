// LiteSpeed hosts (Namecheap, Hostinger and other CloudLinux hosts) read the same Passenger
// lines but start the app with LiteSpeed's own loader, lsnode.js: the listening socket is
// already open on descriptor 0, and the loader redirects the first http.Server#listen()
// (whatever its arguments) to `{ fd: 0 }`. Closing that server closes LiteSpeed's socket, so
// there is no throwaway server here: the backend serves on descriptor 0 directly (the native
// server on a duplicate of it, the fallback through Node's listen, which lsnode.js redirects
// to the same descriptor). Source: litespeedtech/openlitespeed dist/fcgi-bin/lsnode.js
// (https://github.com/litespeedtech/openlitespeed/blob/master/dist/fcgi-bin/lsnode.js);
// docs/hosting.md, LiteSpeed.

import type { Backend, RunningServer } from '../backends/types';
import { findPassenger } from './passenger';

/** The part of lsnode.js's `global.LsNode` (an EventEmitter) we use. */
export interface LsNode {
  /** Set by lsnode.js once an http.Server has taken descriptor 0; it refuses every later
   * listen() (older versions throw, newer ones log and ignore it). */
  listenDone?: boolean;
}

/** The descriptor LiteSpeed passes its listening socket on (the app's stdin). */
const LITESPEED_FD = 0;

/** LiteSpeed's loader global, when running under LiteSpeed: `LsNode` defined and no
 * `PhusionPassenger` (Passenger's loader, when both are somehow there, is the one to follow). */
export function findLiteSpeed(): LsNode | undefined {
  return findPassenger() === undefined ? (globalThis as { LsNode?: LsNode }).LsNode : undefined;
}

/** Serves `backend` on the socket LiteSpeed passed as descriptor 0. `socketPath` (LiteSpeed's
 * `LSNODE_SOCKET`) only names it in the log. */
export function listenUnderLiteSpeed(lsNode: LsNode, backend: Backend, socketPath: string | undefined): RunningServer {
  if (lsNode.listenDone === true) {
    // lsnode.js would ignore our listen(): the promise of `listening` would never settle.
    throw new Error(
      "another http.Server already took LiteSpeed's socket (lsnode.js redirects only the first listen())",
    );
  }
  const server = backend.listen({ kind: 'fd', fd: LITESPEED_FD });
  // The native server never calls http listen(), so lsnode.js would still redirect a later
  // one to descriptor 0, where it would take connections from ours; mark the socket taken.
  lsNode.listenDone = true;
  return {
    address: `LiteSpeed's socket ${socketPath ?? `fd ${LITESPEED_FD}`}`,
    port: undefined,
    listening: server.listening,
    closed: server.closed,
    drain: () => server.drain(),
    close: (graceMs) => server.close(graceMs),
  };
}

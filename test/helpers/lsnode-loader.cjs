// A stand-in for LiteSpeed's Node loader, lsnode.js, doing what the app can notice of it
// (LiteSpeed itself cannot be installed here). Written from the real loader,
// litespeedtech/openlitespeed dist/fcgi-bin/lsnode.js
// (https://github.com/litespeedtech/openlitespeed/blob/master/dist/fcgi-bin/lsnode.js):
// - `global.LsNode` is an EventEmitter (nothing is ever emitted on it) with `listenDone`;
// - the working directory is LSNODE_ROOT, the startup file LSNODE_STARTUP_FILE (app.js);
// - descriptor 1 is closed and LSNODE_CONSOLE_LOG (else /dev/null) opened in its place;
// - SIGHUP, SIGINT, SIGQUIT and SIGTERM exit at once (status 128 + signal number) unless the
//   app listens for that signal itself;
// - `http.Server.prototype.listen` is replaced: the first call, whatever its arguments, listens
//   on `{ fd: 0 }` (the socket LiteSpeed passed as stdin) and makes every request's
//   `socket.remoteAddress` read 127.0.0.1; later calls are ignored with a message (older
//   versions threw); `http.Server.prototype.address` returns LSNODE_SOCKET;
// - after require(), when nothing listened, the exports' `listen(3000)` is called if there is one.
// Left out: its supervision of the app's child processes (this app starts none).
'use strict';

const { EventEmitter } = require('node:events');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const lsNode = new EventEmitter();
lsNode.listenDone = false;
global.LsNode = lsNode;

const appRoot = process.env.LSNODE_ROOT || process.cwd();
if (process.env.LSNODE_ROOT) process.chdir(appRoot);
const startupFile = path.resolve(appRoot, process.env.LSNODE_STARTUP_FILE || 'app.js');

fs.closeSync(1);
// Descriptor 0 is LiteSpeed's socket, so the lowest free one, which open() takes, is 1.
fs.openSync(process.env.LSNODE_CONSOLE_LOG || '/dev/null', 'a');

const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 };
for (const [signal, number] of Object.entries(SIGNAL_NUMBERS)) {
  process.on(signal, () => {
    if (process.listenerCount(signal) > 1) return; // the app handles it
    process.exit(128 + number);
  });
}

const realListen = http.Server.prototype.listen;
http.Server.prototype.listen = function listenOnLiteSpeedSocket(...args) {
  if (lsNode.listenDone) {
    console.error('http.Server.listen() was called more than once, ignore.');
    return this;
  }
  lsNode.listenDone = true;
  const appListeners = this.listeners('request');
  this.removeAllListeners('request');
  this.on('request', (req) => {
    Object.defineProperty(req.socket, 'remoteAddress', { get: () => '127.0.0.1', configurable: true });
  });
  for (const listener of appListeners) this.on('request', listener);
  const callback = args.length > 1 && typeof args[args.length - 1] === 'function' ? args[args.length - 1] : undefined;
  const onError = (error) => this.emit('error', error);
  this.once('error', onError);
  realListen.call(this, { fd: 0 }, () => {
    this.removeListener('error', onError);
    if (callback) this.once('listening', callback);
    // The real loader emits 'listening' a second time here; kept, as the app sees it.
    this.emit('listening');
  });
  return this;
};
http.Server.prototype.address = () => process.env.LSNODE_SOCKET;

const app = require(startupFile);
if (!lsNode.listenDone && app && typeof app.listen === 'function') app.listen(3000);

// Startup file for Phusion Passenger and LiteSpeed, and what `npm start` runs.
// Passenger require()s it, so it stays CommonJS and holds no logic: see src/main.ts.
// Node 22.1 and later keep the compiled code of the app's modules between starts, which
// shortens the cold start after Passenger stopped an idle app; in this app's own folder (never a
// shared /tmp). Older Node versions have no enableCompileCache: nothing changes there, and
// node:module is not even loaded (a few milliseconds of every start).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major > 22 || (major === 22 && minor >= 1)) {
  require('node:module').enableCompileCache?.(
    require('node:path').join(__dirname, 'node_modules', '.cache', 'handoff-compile'),
  );
}
require('./dist/main.js').start();

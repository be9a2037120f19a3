// Preloaded into the app by test/lifecycle/start-modules.test.ts (`node --require <this> app.js`):
// when the process exits, writes every file Node loaded as a module (require.cache: JavaScript,
// JSON and the .node addon, by their real paths) and every module of Node's own it loaded
// (process.moduleLoadList, as `node:<name>`) to the file named by LOADED_MODULES_FILE, one a line.
'use strict';
const { writeFileSync } = require('node:fs');

const out = process.env.LOADED_MODULES_FILE;
if (out) {
  // The variable is for this process only, not for anything it starts.
  delete process.env.LOADED_MODULES_FILE;
  process.on('exit', () => {
    const builtins = process.moduleLoadList
      .filter((entry) => entry.startsWith('NativeModule '))
      .map((entry) => `node:${entry.slice('NativeModule '.length)}`);
    writeFileSync(out, `${[...Object.keys(require.cache), ...builtins].join('\n')}\n`);
  });
}

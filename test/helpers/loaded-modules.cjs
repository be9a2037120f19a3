// Preloaded into the app by test/lifecycle/start-modules.test.ts (`node --require <this> app.js`):
// when the process exits, writes every file Node loaded as a module (require.cache: JavaScript,
// JSON and the .node addon, by their real paths) to the file named by LOADED_MODULES_FILE, one a line.
'use strict';
const { writeFileSync } = require('node:fs');

const out = process.env.LOADED_MODULES_FILE;
if (out) {
  // The variable is for this process only, not for anything it starts.
  delete process.env.LOADED_MODULES_FILE;
  process.on('exit', () => writeFileSync(out, `${Object.keys(require.cache).join('\n')}\n`));
}

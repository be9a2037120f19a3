#!/usr/bin/env node
// `npm run build:ts`: compiles src/ into dist/ (tsconfig.build.json), then deletes what dist/ still
// holds from sources that no longer exist (a removed demo, a renamed file), so that neither the
// app nor `npm run package` carries compiled code nobody can see in src/, and copies the files of src/
// the app reads at run time that tsc leaves out (SQL migrations). Extra arguments go to tsc.
//
// Last, the fallback's npm packages are bundled into the files that import them (see bundleFallback
// below): a shorter cold start, the same code.
'use strict';

const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { root, pruneDist, copyAssets, BUNDLED, BUNDLE_BANNER } = require('./lib/project.cjs');

const say = (message) => process.stderr.write(`[build] ${message}\n`);

/** What the bundles leave to node_modules: the packages fastify loads only for features this app
 * never uses (its pino logger, its ajv and fast-json-stringify schema compilers, `inject()`). They
 * are required where they were, and only when they were; in a bundle they would be parsed at
 * every start for nothing. */
const LEFT_OUT = ['pino', '@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler', 'light-my-request'];

/** Node's modules the bundles load on first use (see lazyBuiltins in bundleFallback). */
const LAZY_BUILTINS = ['https', 'http2', 'dns', 'os'];

/** A module that stands for Node's module `name` and loads it when first used: every property
 * read, `in` test, key listing or descriptor goes to the real module. */
function lazyModuleSource(name) {
  return `'use strict';
let real;
const load = () => (real ??= require(${JSON.stringify(`node:${name}`)}));
module.exports = new Proxy({}, {
  get: (_, key) => load()[key],
  has: (_, key) => key in load(),
  ownKeys: () => Reflect.ownKeys(load()),
  getOwnPropertyDescriptor: (_, key) => {
    const descriptor = Reflect.getOwnPropertyDescriptor(load(), key);
    return descriptor === undefined ? undefined : { ...descriptor, configurable: true };
  },
});
`;
}

async function main() {
  const tsc = require.resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', ...process.argv.slice(2)], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
  for (const file of pruneDist()) {
    say(`removed ${path.relative(root, file)} (its source is gone)`);
  }
  copyAssets();
  // `--watch` and other runs of tsc that go on are left as tsc's: only a finished build is bundled.
  await bundleFallback();
}

/**
 * Bundles each file of BUNDLED with the npm packages it imports, in place. Node then reads and
 * compiles one file for fastify and its dependencies instead of about a hundred, each found by
 * walking node_modules: most of the fallback's cold start (docs/performance.md, "Cold start").
 * Imports of the app's own files (relative paths) stay as they are, so every module of dist/ is
 * still loaded once, by every path. Without esbuild (a dev dependency) dist/ stays as tsc wrote
 * it, which runs the same, only starts slower.
 */
async function bundleFallback() {
  let esbuild;
  try {
    esbuild = require('esbuild');
  } catch (error) {
    say(
      `the fallback is not bundled (esbuild cannot load: ${String(error.message).split('\n')[0]}); it runs unbundled`,
    );
    return;
  }
  const dist = path.join(root, 'dist');
  const keepRelative = {
    name: 'keep-relative-imports',
    setup(build) {
      // A relative import in a file of dist/ (not the entry itself, not one inside a package)
      // stays a require() of that file.
      build.onResolve({ filter: /^\.\.?(\/|$)/ }, (args) =>
        args.kind !== 'entry-point' && args.importer.startsWith(`${dist}${path.sep}`)
          ? { path: args.path, external: true }
          : undefined,
      );
    },
  };
  // Node's modules that the bundled packages require at load time but use only for what this app
  // never does: fastify's lib/server.js requires https, http2, dns and os for its own listen()
  // and HTTPS/HTTP2 servers (the app brings its own node:http server), about 10 ms of every
  // start. In the bundles such a require gets the module on first use instead.
  const lazyBuiltins = {
    name: 'lazy-builtins',
    setup(build) {
      const filter = new RegExp(`^(node:)?(${LAZY_BUILTINS.join('|')})$`);
      build.onResolve({ filter }, (args) =>
        args.importer.includes(`${path.sep}node_modules${path.sep}`)
          ? { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' }
          : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
        contents: lazyModuleSource(args.path),
        loader: 'js',
      }));
    },
  };
  for (const entry of BUNDLED) {
    const file = path.join(dist, entry);
    // esbuild writes nothing when it fails: the file stays as tsc wrote it, and runs the same.
    await esbuild
      .build({
        entryPoints: [file],
        outfile: file,
        allowOverwrite: true,
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: 'node20',
        external: LEFT_OUT,
        plugins: [keepRelative, lazyBuiltins],
        // tsc's source map is read in and carried over: stack traces still point into src/.
        sourcemap: 'linked',
        // How scripts/test.cjs tells a bundled file from one `npm run dev`'s tsc --watch rewrote.
        banner: { js: BUNDLE_BANNER },
        logLevel: 'warning',
      })
      .catch((error) => {
        say(`dist/${entry} is not bundled (${String(error.message).split('\n')[0]}); it runs unbundled`);
      });
  }
}

main();

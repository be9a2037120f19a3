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
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { root, pruneDist, copyAssets, BUNDLED, BUNDLE_BANNER } = require('./lib/project.cjs');

const say = (message) => process.stderr.write(`[build] ${message}\n`);

/** What the bundles leave to node_modules: the packages fastify loads only for features this app
 * never uses (its pino logger, its ajv and fast-json-stringify schema compilers, `inject()`). They
 * are required where they were, and only when they were; in a bundle they would be parsed at
 * every start for nothing. */
const LEFT_OUT = ['pino', '@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler', 'light-my-request'];

/** Node's modules the bundles load on first use (see lazyBuiltins in bundleFallback). */
const LAZY_BUILTINS = ['https', 'http2', 'dns', 'os'];

/** npm packages the bundles hold but evaluate only on first use (see lazyPackages in
 * bundleFallback): fastify's plugin-utils requires semver at load time, for checking the fastify
 * version a plugin asks for (a plugin's `fastify` metadata), which no start here has. */
const LAZY_PACKAGES = ['semver'];

/** A module that stands for the module `request` (as `require()` takes it) and loads it when
 * first used: every property read, `in` test, key listing or descriptor goes to the real module. */
function lazyModuleSource(request) {
  return `'use strict';
let real;
const load = () => (real ??= require(${JSON.stringify(request)}));
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
        contents: lazyModuleSource(`node:${args.path}`),
        loader: 'js',
      }));
    },
  };
  // The npm packages of LAZY_PACKAGES, required by another package: a stand-in that requires the
  // package's own file (bundled too, under its path) on first use. esbuild evaluates a bundled
  // CommonJS module where it is required, so until then it is compiled but never run.
  const lazyPackages = {
    name: 'lazy-packages',
    setup(build) {
      const filter = new RegExp(`^(${LAZY_PACKAGES.join('|')})$`);
      build.onResolve({ filter }, async (args) => {
        if (args.pluginData?.real || !args.importer.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const real = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          pluginData: { real: true },
        });
        if (real.errors.length > 0) return { errors: real.errors };
        // Named by its path in the repository, as esbuild names the bundled files (no build
        // machine's folder in the bundle).
        return { path: path.relative(root, real.path), namespace: 'lazy-package' };
      });
      build.onLoad({ filter: /.*/, namespace: 'lazy-package' }, (args) => {
        const real = path.resolve(root, args.path);
        return { contents: lazyModuleSource(real), resolveDir: path.dirname(real), loader: 'js' };
      });
    },
  };
  for (const entry of BUNDLED) {
    const file = path.join(dist, entry);
    // When esbuild fails nothing is written: the file stays as tsc wrote it, and runs the same.
    const built = await esbuild
      .build({
        entryPoints: [file],
        outfile: file,
        allowOverwrite: true,
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: 'node20',
        external: LEFT_OUT,
        plugins: [keepRelative, lazyBuiltins, lazyPackages],
        // tsc's source map is read in and carried over: stack traces still point into src/.
        sourcemap: 'linked',
        // How scripts/test.cjs tells a bundled file from one `npm run dev`'s tsc --watch rewrote.
        banner: { js: BUNDLE_BANNER },
        logLevel: 'warning',
        write: false,
      })
      .catch((error) => {
        say(`dist/${entry} is not bundled (${String(error.message).split('\n')[0]}); it runs unbundled`);
        return undefined;
      });
    for (const output of built?.outputFiles ?? []) {
      let text = output.text;
      if (output.path === file) {
        const eager = compileModulesEagerly(text);
        if (eager === undefined) say(`dist/${entry}: its modules are left to be compiled on first use`);
        text = eager ?? text;
      }
      fs.writeFileSync(output.path, text);
    }
  }
}

/**
 * esbuild wraps each CommonJS module of a bundle in a method (`"<path>"(exports, module) {…}`),
 * which V8 compiles only when the module is first required, after Node's compile cache has taken
 * its copy of the file's compiled code (node_modules/.cache, app.js): with the cache filled, every
 * start still compiled each module it ran, a tenth of a fastify start on Node 22 and 24. Written as
 * a parenthesised function instead (`"<path>": (function(exports, module) {…})`, the same
 * function, named the same), V8 compiles it with the file, so the cache holds it. Line numbers do
 * not change (the source map holds). Returns undefined when the file is not as expected; it is
 * then left as esbuild wrote it, which runs the same.
 */
function compileModulesEagerly(code) {
  const opening = /(= __commonJS\(\{\n {2}"[^"\n]+")\(([\w$, ]*)\) \{\n/g;
  const closing = '\n  }\n});\n';
  let out = '';
  let from = 0;
  let count = 0;
  for (const match of code.matchAll(opening)) {
    if (match.index < from) return undefined;
    const body = match.index + match[0].length;
    const end = code.indexOf(closing, body);
    if (end < 0) return undefined;
    out += `${code.slice(from, match.index)}${match[1]}: (function(${match[2]}) {\n${code.slice(body, end)}\n  })\n});\n`;
    from = end + closing.length;
    count += 1;
  }
  out += code.slice(from);
  if (count === 0 || count !== code.split('= __commonJS({').length - 1) return undefined;
  try {
    // Only parsed (the function is never called): a wrapper taken for another's would not parse.
    new vm.Script(`(function (exports, require, module, __filename, __dirname) {${out}\n})`);
  } catch {
    return undefined;
  }
  return out;
}

main();

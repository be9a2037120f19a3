#!/usr/bin/env node
// `passenger-handoff <command>`: deploy helpers run on the host (or before uploading). Only
// `htaccess` for now: it writes the CloudLinux Passenger block with the right values.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { HtaccessError, renderHtaccess } from './deploy/htaccess';

const USAGE = `Usage: passenger-handoff htaccess --base-uri /api --node /path/to/bin/node [--app-root DIR] [--out FILE]

Writes the .htaccess block that makes Passenger start this app (as CloudLinux's "Setup Node.js App" does).
  --app-root DIR       the folder holding app.js (default: this package's folder, ${packageRoot()})
  --base-uri PATH      the URL path the API answers under: /api, or / for the whole site
  --node FILE          the Node binary, e.g. ~/nodevenv/passenger-handoff/20/bin/node
  --startup-file FILE  default app.js
  --out FILE           write there (e.g. ~/public_html/api/.htaccess) instead of to stdout
`;

/** Runs the command line `argv` (without node and the script); returns the exit status. */
export function runCli(argv: readonly string[]): number {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'htaccess') return fail(`unknown command ${JSON.stringify(command)}`);
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...rest],
      options: {
        'app-root': { type: 'string' },
        'base-uri': { type: 'string' },
        node: { type: 'string' },
        'startup-file': { type: 'string' },
        out: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
  const baseUri = values['base-uri'];
  const node = values.node;
  if (baseUri === undefined) return fail('--base-uri is required (e.g. --base-uri /api)');
  if (node === undefined) return fail('--node is required (the Node binary Passenger should start)');
  let text: string;
  try {
    text = renderHtaccess({
      appRoot: path.resolve(values['app-root'] ?? packageRoot()),
      baseUri,
      node: path.resolve(node),
      ...(values['startup-file'] === undefined ? {} : { startupFile: values['startup-file'] }),
    });
  } catch (error) {
    if (error instanceof HtaccessError) return fail(error.message);
    throw error;
  }
  if (values.out === undefined) {
    process.stdout.write(text);
  } else {
    writeFileSync(values.out, text);
    process.stderr.write(`[htaccess] wrote ${path.resolve(values.out)}\n`);
  }
  return 0;
}

function packageRoot(): string {
  return path.resolve(__dirname, '..');
}

function fail(message: string): number {
  process.stderr.write(`[htaccess] ${message}\n\n${USAGE}`);
  return 2;
}

if (require.main === module) process.exitCode = runCli(process.argv.slice(2));

#!/usr/bin/env node
// `passenger-handoff <command>`: deploy helpers run on the host (or before uploading). `htaccess`
// writes the CloudLinux Passenger block with the right values; `doctor` checks the host
// (src/doctor/), loaded only when asked for; `scgi` sends one SCGI request to the app and prints
// the answer (src/scgi/client.ts).
import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { HtaccessError, mergeHtaccess, renderHtaccess } from './deploy/htaccess';

const USAGE = `Usage: passenger-handoff htaccess --base-uri /api --node /path/to/bin/node [--app-root DIR] [--out FILE]
       passenger-handoff doctor [--docroot DIR] [--url URL] [--json]
       passenger-handoff scgi <socket-path | host:port> <METHOD> <path> [-H 'Name: value']... [-d <data> | --data-binary @file]

Writes the .htaccess block that makes Passenger start this app (as CloudLinux's "Setup Node.js App" does).
  --app-root DIR       the folder holding app.js (default: this package's folder, ${packageRoot()})
  --base-uri PATH      the URL path the API answers under: /api, or / for the whole site
  --node FILE          the Node binary, e.g. ~/nodevenv/passenger-handoff/20/bin/node
  --startup-file FILE  default app.js
  --out FILE           write there (e.g. ~/public_html/api/.htaccess) instead of to stdout; in a file
                       that exists, only the marked block is replaced (or added): the rest stays

Checks this app's host and names every problem with its fix (\`doctor --help\` for more).

Sends one SCGI request to the app as nginx would and prints the answer (\`scgi --help\` for more).
`;

/** Runs the command line `argv` (without node and the script); returns the exit status. */
export function runCli(argv: readonly string[]): number | Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'doctor') {
    const doctor = require('./doctor') as typeof import('./doctor');
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(doctor.DOCTOR_USAGE);
      return 0;
    }
    return doctor.doctorCli(rest);
  }
  if (command === 'scgi') {
    const client = require('./scgi/client') as typeof import('./scgi/client');
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(client.SCGI_USAGE);
      return 0;
    }
    return client.scgiCli(rest);
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
  const options = {
    appRoot: path.resolve(values['app-root'] ?? packageRoot()),
    baseUri,
    node: path.resolve(node),
    ...(values['startup-file'] === undefined ? {} : { startupFile: values['startup-file'] }),
  };
  const out = values.out === undefined ? undefined : path.resolve(values.out);
  let existing: string | undefined;
  if (out !== undefined) {
    try {
      existing = readFileSync(out, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  let text: string;
  try {
    text = out === undefined ? renderHtaccess(options) : mergeHtaccess(existing, options);
  } catch (error) {
    if (error instanceof HtaccessError) return fail(out === undefined ? error.message : `${out}: ${error.message}`);
    throw error;
  }
  if (out === undefined) {
    process.stdout.write(text);
    return 0;
  }
  // A new file renamed over the old: Apache never reads half a file.
  const temporary = `${out}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  if (existing !== undefined) chmodSync(temporary, statSync(out).mode & 0o7777);
  renameSync(temporary, out);
  const what = existing === undefined ? 'wrote' : existing === text ? 'unchanged' : 'updated the Passenger block in';
  process.stderr.write(`[htaccess] ${what} ${out}\n`);
  return 0;
}

function packageRoot(): string {
  return path.resolve(__dirname, '..');
}

function fail(message: string): number {
  process.stderr.write(`[htaccess] ${message}\n\n${USAGE}`);
  return 2;
}

if (require.main === module) {
  Promise.resolve(runCli(process.argv.slice(2))).then(
    (status) => {
      process.exitCode = status;
    },
    (error: unknown) => {
      process.stderr.write(`[cli] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

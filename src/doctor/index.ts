// `passenger-handoff doctor`: every host problem this project knows of, one line each with its fix.
// It loads nothing heavy itself (the addon and the fallback are tried in a child process) and never
// builds: on a host, `node dist/cli.js doctor`; in a clone, `npm run doctor`.
import { homedir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PACKAGE_ROOT } from '../config';
import { checkDatabase } from '../examples/notes/doctor'; // [examples]
import {
  checkConfig,
  checkDependencies,
  checkFrontServer,
  checkHtaccess,
  checkLogs,
  checkMemory,
  checkNativeFile,
  checkNativeLoad,
  checkNodeVersion,
  checkNodevenv,
  checkOpenFiles,
  checkThreads,
  checkTmp,
  checkUrl,
  type DoctorContext,
  runProbe,
} from './checks';
import { findHtaccessFiles, type HtaccessFile, readHtaccess, sameFolder } from './htaccess-file';
import type { ProbeResult } from './probe';
import type { Check } from './types';

export const DOCTOR_USAGE = `Usage: passenger-handoff doctor [--docroot DIR] [--url URL] [--json]

Checks this app's host: Node and the nodevenv, the native addon (CPU, glibc, a real load), the
limits (threads, memory, open files), the .htaccess, tmp/, the configuration, and with --url the
running app. One line per check (ok, warn, fail) with the fix; exit status 1 when a check fails.
  --docroot DIR   the site's folder holding the app's .htaccess (e.g. ~/public_html); default:
                  looked for under ~/public_html and the home folder
  --url URL       the app's address, e.g. https://example.com/api: GET <url>/health must answer
  --json          print {"ok":…,"checks":[{id,status,message,fix}]} instead of lines
`;

/** What doctor is asked to do. */
export interface DoctorOptions {
  readonly docroot?: string | undefined;
  readonly url?: string | undefined;
}

/** Runs every check; the order is the order of the output. */
export async function runDoctor(options: DoctorOptions): Promise<{ appRoot: string; checks: Check[] }> {
  const appRoot = PACKAGE_ROOT;
  const home = homedir();
  const { htaccess, searched } = locateHtaccess(appRoot, home, options.docroot);
  const envFromHtaccess = new Set(Object.keys(htaccess?.env ?? {}));
  // What the app gets under Passenger: the panel's variables (SetEnv in the .htaccess) win.
  const env: NodeJS.ProcessEnv = { ...process.env, ...htaccess?.env };
  const context: DoctorContext = { appRoot, home, env, envFromHtaccess, htaccess, searched };

  const checks: Check[] = [checkNodeVersion(appRoot), checkNodevenv(context), checkDependencies(appRoot)];
  const { check: configCheck, config } = checkConfig(context);
  checks.push(configCheck);
  let probe: ProbeResult | undefined;
  if (config) {
    checks.push(...checkNativeFile(config));
    const probed = await runProbe(context);
    probe = probed.result;
    checks.push(checkNativeLoad(config, probed));
    checks.push(checkThreads(config, probe), checkMemory(probe), checkOpenFiles(config));
    checks.push(await checkDatabase(config.app.databaseUrl, home)); // [examples]
  }
  checks.push(checkFrontServer(env), ...checkHtaccess(context, config), checkTmp(appRoot), checkLogs(context));
  if (options.url !== undefined) checks.push(await checkUrl(options.url, probe));
  return { appRoot, checks };
}

/** The `.htaccess` naming this app: under `docroot` when given, else under ~/public_html, else
 * anywhere a few levels down the home folder. One naming another app is returned when no other is
 * found (so doctor can say so). */
function locateHtaccess(
  appRoot: string,
  home: string,
  docroot: string | undefined,
): { htaccess: HtaccessFile | undefined; searched: string[] } {
  const roots = docroot !== undefined ? [path.resolve(docroot)] : [path.join(home, 'public_html'), home];
  const searched: string[] = [];
  let other: HtaccessFile | undefined;
  for (const root of roots) {
    searched.push(root);
    // A --docroot that is itself a .htaccess file.
    const files = root.endsWith('.htaccess')
      ? [readHtaccess(root, undefined)].filter((f): f is HtaccessFile => f !== undefined)
      : findHtaccessFiles(root).map((f) =>
          root === home && !f.file.startsWith(path.join(home, 'public_html')) ? { ...f, urlPath: undefined } : f,
        );
    const mine = files.find((f) => {
      const named = f.directives.get('passengerapproot');
      return named !== undefined && sameFolder(named, appRoot);
    });
    if (mine) return { htaccess: mine, searched };
    other ??= files.find((f) => f.directives.has('passengerapproot'));
  }
  return { htaccess: other, searched };
}

/** Formats the checks as lines: `ok    id  message`, the fix indented below a warn or fail. */
export function formatChecks(appRoot: string, checks: readonly Check[]): string {
  const width = Math.max(...checks.map((c) => c.id.length));
  const lines = [`passenger-handoff doctor: ${appRoot}`];
  for (const check of checks) {
    lines.push(`${check.status.padEnd(5)} ${check.id.padEnd(width)}  ${check.message}`);
    if (check.fix) lines.push(`${' '.repeat(6 + width)}  fix: ${check.fix}`);
  }
  const count = (status: Check['status']) => checks.filter((c) => c.status === status).length;
  const warnings = count('warn');
  lines.push(`${count('fail')} failed, ${warnings} warning${warnings === 1 ? '' : 's'}, ${count('ok')} ok`);
  return `${lines.join('\n')}\n`;
}

/** `passenger-handoff doctor …`; resolves with the exit status. */
export async function doctorCli(argv: readonly string[]): Promise<number> {
  let values: { docroot?: string | undefined; url?: string | undefined; json?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { docroot: { type: 'string' }, url: { type: 'string' }, json: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`[doctor] ${error instanceof Error ? error.message : String(error)}\n\n${DOCTOR_USAGE}`);
    return 2;
  }
  const { appRoot, checks } = await runDoctor({ docroot: values.docroot, url: values.url });
  const failed = checks.some((c) => c.status === 'fail');
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ok: !failed, appRoot, checks }, null, 2)}\n`);
  } else {
    process.stdout.write(formatChecks(appRoot, checks));
  }
  return failed ? 1 : 0;
}

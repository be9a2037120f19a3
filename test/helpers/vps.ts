// What the VPS tests share: Debian's tools installed on demand (systemd's socket activator and
// systemd-analyze, nginx, iproute2), and `node app.js` started by systemd-socket-activate, the
// way a .socket unit starts its service: the sockets on descriptors 3 and up, LISTEN_FDS,
// LISTEN_PID (the app's own pid: the tool execs it) and LISTEN_FDNAMES.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type AppProcess, appEnv, REPO_ROOT, startApp } from './app-process';

const INSTALL_SCRIPT = path.join(REPO_ROOT, 'scripts', 'install-system-deps.sh');

const checked = new Map<string, string | undefined>();

/** Makes sure `file` exists, installing the Debian `pkg` with scripts/install-system-deps.sh
 * when it does not (tried once per process). Returns undefined when it is there, else why not. */
export function ensureTool(file: string, pkg: string): string | undefined {
  if (checked.has(file)) return checked.get(file);
  if (!existsSync(file)) spawnSync('bash', [INSTALL_SCRIPT, pkg], { stdio: 'inherit' });
  const missing = existsSync(file)
    ? undefined
    : `${file} is missing and \`bash scripts/install-system-deps.sh ${pkg}\` did not install it`;
  checked.set(file, missing);
  return missing;
}

/** systemd's socket activator (Debian's `systemd` package). */
export const SOCKET_ACTIVATE = '/usr/bin/systemd-socket-activate';

/** Why the socket-activation tests cannot run here, or undefined. */
export function socketActivationUnavailable(): string | undefined {
  return ensureTool(SOCKET_ACTIVATE, 'systemd');
}

/** What to pass: `listen` addresses (`127.0.0.1:PORT` or a socket path) in descriptor order,
 * their names (`--fdname`), and the command (default `node app.js`). */
export interface Activation {
  readonly listen: readonly string[];
  readonly names?: readonly string[];
  readonly command?: readonly string[];
}

/** Starts `node app.js` under systemd-socket-activate with `env` (on top of the test
 * environment). The tool binds at once and starts the app on the first connection. */
export function startActivated(env: Readonly<Record<string, string>>, activation: Activation): AppProcess {
  // The tool passes only a few of its own variables on (PATH, HOME, TERM, USER): the rest go
  // as --setenv.
  const setenv = Object.entries(appEnv(env))
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `--setenv=${name}=${value}`);
  const args = [
    SOCKET_ACTIVATE,
    ...activation.listen.map((address) => `--listen=${address}`),
    ...(activation.names === undefined ? [] : [`--fdname=${activation.names.join(':')}`]),
    ...setenv,
    ...(activation.command ?? [process.execPath, 'app.js']),
  ];
  return startApp(env, args);
}

// Debian's nginx, started by a test in the foreground with a configuration of its own (prefix,
// pid, logs and temp folders in a temporary folder), around a site file such as
// deploy/nginx/http.conf adapted to the test's sockets. Stopped (and waited for) by `stop()`,
// which also removes that folder (as does a start that fails).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { tempDir } from './app-process';
import { sleep } from './util';
import { ensureTool } from './vps';

export const NGINX = '/usr/sbin/nginx';

/** Why nginx tests cannot run here, or undefined. */
export function nginxUnavailable(): string | undefined {
  return ensureTool(NGINX, 'nginx');
}

/** A running nginx. */
export interface Nginx {
  readonly child: ChildProcess;
  /** Its folder (configuration, pid, logs, temp files); removed by `stop()`. */
  readonly dir: string;
  /** Its error log so far (after `stop()`, as it was when nginx stopped). */
  errorLog(): string;
  stop(): Promise<void>;
}

/** `text` with `from` replaced by `to`; throws when `from` is not there (the file changed). */
export function replaceOnce(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`${JSON.stringify(from)} is not in the configuration`);
  return text.replace(from, to);
}

/** Starts nginx with `site` (http-context configuration) and resolves once `127.0.0.1:port`
 * accepts connections (at most 50 tries). `netns` runs it inside that network namespace, and
 * `probe` is then skipped (the caller checks from inside). */
export async function startNginx(site: string, port: number | undefined, netns?: string): Promise<Nginx> {
  const dir = tempDir();
  for (const sub of ['body', 'proxy', 'logs']) mkdirSync(path.join(dir, sub));
  writeFileSync(path.join(dir, 'site.conf'), site);
  writeFileSync(
    path.join(dir, 'nginx.conf'),
    [
      // Root, so that the workers may reach sockets in the test's private (0700) folders.
      'user root;',
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/logs/error.log info;`,
      'events { worker_connections 1024; }',
      'http {',
      `  access_log ${dir}/logs/access.log;`,
      `  client_body_temp_path ${dir}/body;`,
      `  proxy_temp_path ${dir}/proxy;`,
      `  include ${dir}/site.conf;`,
      '}',
      '',
    ].join('\n'),
  );
  const args = ['-p', dir, '-e', `${dir}/logs/error.log`, '-c', `${dir}/nginx.conf`, '-g', 'daemon off;'];
  const command = netns === undefined ? [NGINX, ...args] : ['ip', 'netns', 'exec', netns, NGINX, ...args];
  const child = spawn(command[0] as string, command.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let finalLog: string | undefined; // the error log as it was when the folder was removed
  const errorLog = () => {
    if (finalLog !== undefined) return finalLog;
    try {
      return readFileSync(path.join(dir, 'logs', 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const nginx: Nginx = {
    child,
    dir,
    errorLog,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGQUIT'); // graceful: workers finish their requests
        await Promise.race([exited, sleep(10_000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      await exited;
      if (finalLog === undefined) {
        finalLog = errorLog();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  if (port !== undefined) {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) {
        await nginx.stop();
        throw new Error(`nginx exited (its folder ${dir} is removed): ${errorLog()}`);
      }
      if (await accepts(port)) break;
      if (i === 50) {
        await nginx.stop();
        throw new Error(`nginx does not listen on ${port} (its folder ${dir} is removed): ${errorLog()}`);
      }
      await sleep(100);
    }
  }
  return nginx;
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` now. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

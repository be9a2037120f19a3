// Small helpers shared by the test harnesses of the front servers (Passenger, Apache).
import { request } from 'node:http';
import { createServer } from 'node:net';

/** The status of `GET urlPath` on 127.0.0.1:`port` (the body is read and dropped). */
export function getStatus(port: number, urlPath: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} got no answer`)));
    req.on('error', reject);
    req.end();
  });
}

/** Binds port 0 and gives it back: there is a small window in which another process could take it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error(`unexpected address ${JSON.stringify(address)}`));
      });
    });
  });
}

/** The last `lines` lines of `text`. */
export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** The `skip` option of a suite that needs servers or tools which may be missing here: the first
 * reason given (why it cannot run) skips the whole suite, and in CI (CI=true), which must run
 * everything, it is an error instead. Decided when the suite is defined, because Node gives a
 * suite's `before` hook no `t.skip`. */
export function unlessMissing(...reasons: (string | undefined)[]): string | false {
  const reason = reasons.find((r) => r !== undefined);
  if (reason === undefined) return false;
  if (process.env.CI === 'true') throw new Error(`CI must run every test: ${reason}`);
  return reason;
}

// Run by doctor as a child process (`node dist/doctor/probe.js`), with the app's environment and
// the same limits: loads the backend as the app's start does (the native addon and its threads,
// else the fallback), then reports on its last stdout line what serves, why native did not, and
// how many threads and how much memory that took. A crash of the addon ends this process, not
// doctor.
import { readFileSync } from 'node:fs';
import { loadNativeBackend } from '../backends/native';
import { loadConfig } from '../config';

/** What the probe reports. */
export interface ProbeResult {
  /** The backend the app would serve with; undefined when it would not start. */
  readonly serving: 'native' | 'fastify' | 'express' | undefined;
  /** Why the native server did not load (undefined when it loaded or was not tried). */
  readonly nativeError: string | undefined;
  /** Why nothing would serve. */
  readonly startError: string | undefined;
  /** Threads of this process once the backend was ready. */
  readonly threads: number;
  /** Resident memory then, in bytes. */
  readonly rss: number;
  /** Peak virtual memory (VmPeak), in bytes. */
  readonly vmPeak: number;
}

/** The prefix of the result line. */
export const PROBE_MARK = '@@handoff-doctor-probe ';

async function probe(): Promise<ProbeResult> {
  let serving: ProbeResult['serving'];
  let nativeError: string | undefined;
  let startError: string | undefined;
  try {
    const config = loadConfig(process.env);
    if (config.backend === 'auto' || config.backend === 'native') {
      const loaded = loadNativeBackend(config);
      if (loaded.ok) serving = 'native';
      else nativeError = loaded.reason;
    }
    if (serving === undefined && config.backend !== 'native') {
      serving = config.backend === 'express' ? 'express' : 'fastify';
      if (serving === 'express') {
        await (require('../backends/express') as typeof import('../backends/express')).createExpressBackend(config);
      } else {
        await (require('../backends/fastify') as typeof import('../backends/fastify')).createFastifyBackend(config);
      }
    }
    if (serving === undefined) startError = `HANDOFF_BACKEND=native but the addon did not load: ${nativeError}`;
  } catch (error) {
    serving = undefined;
    // The first line: a require stack or a backtrace follows it.
    startError = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  }
  const status = readFileSync('/proc/self/status', 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return {
    serving,
    nativeError,
    startError,
    threads: field('Threads'),
    rss: process.memoryUsage().rss,
    vmPeak: field('VmPeak') * 1024,
  };
}

if (require.main === module) {
  void probe().then((result) => {
    process.stdout.write(`\n${PROBE_MARK}${JSON.stringify(result)}\n`, () => process.exit(0));
  });
}

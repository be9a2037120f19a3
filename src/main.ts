// start(): config → prepare the backend → decide where to listen → bind → lifecycle.
import { chmodSync } from 'node:fs';
import { prepareBackend } from './backends';
import type { RunningServer } from './backends/types';
import { ACTIVATION_VARIABLES, type Config, ConfigError, loadConfig } from './config';
import { describeError, log } from './log';
import { findLiteSpeed, listenUnderLiteSpeed } from './targets/litespeed';
import { findPassenger, listenUnderPassenger, type PhusionPassenger } from './targets/passenger';
import { prepareSocketPath } from './targets/socket';

/** Starts the server as configured by the environment. A failure is logged and the process
 * exits with status 1. */
export function start(): void {
  let config: Config;
  const activatedBy = process.env.LISTEN_PID;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log('config', error.message);
    // Exit now: under Passenger the loader's handles would keep an idle process alive.
    process.exit(1);
  } finally {
    // sd_listen_fds(3): the variables are for this process only, never for its children (a
    // child would take LISTEN_PID for another process's, or worse, for its own).
    for (const name of ACTIVATION_VARIABLES) delete process.env[name];
  }
  if (config.activation === undefined && activatedBy !== undefined) {
    log('main', `LISTEN_PID=${activatedBy} is not this process (${process.pid}): its sockets are not ours, ignored`);
  }
  run(config).catch((error: unknown) => {
    log('main', `cannot start: ${describeError(error)}`);
    process.exit(1);
  });
}

async function run(config: Config): Promise<void> {
  const passenger = findPassenger();
  if (config.protocol === 'scgi' && (passenger !== undefined || findLiteSpeed() !== undefined)) {
    const host = passenger !== undefined ? 'Passenger' : 'LiteSpeed';
    log('config', `HANDOFF_PROTOCOL=scgi is refused under ${host}, which speaks HTTP to the app: remove the setting.`);
    process.exit(1);
  }
  const backend = await prepareBackend(config);
  const server = await listen(config, backend, passenger);
  await server.listening;
  // Signal handlers first: whoever reads the next line as "ready" may stop us right away.
  handleShutdown(config, server, passenger);
  const activated = config.activation;
  const how =
    activated === undefined || passenger !== undefined
      ? ''
      : ` (socket activation: fd ${activated.fd}, named ${activated.name}, ${activated.count} passed)`;
  const scgi = config.protocol === 'scgi' ? ' (SCGI)' : '';
  log('main', `serving with ${backend.name} on ${server.address}${scgi}${how}`);
}

async function listen(
  config: Config,
  backend: Awaited<ReturnType<typeof prepareBackend>>,
  passenger: PhusionPassenger | undefined,
): Promise<RunningServer> {
  if (passenger) return listenUnderPassenger(passenger, backend);
  const liteSpeed = findLiteSpeed();
  if (liteSpeed) return listenUnderLiteSpeed(liteSpeed, backend, config.liteSpeedSocket);
  // systemd (or any socket activator) passed the listening socket: HOST, PORT and
  // HANDOFF_SOCKET do not apply.
  if (config.activation !== undefined) return backend.listen({ kind: 'fd', fd: config.activation.fd });
  if (config.socketPath !== undefined) {
    await prepareSocketPath(config.socketPath);
    const server = backend.listen({ kind: 'path', path: config.socketPath });
    await server.listening;
    if (config.socketMode !== undefined) chmodSync(config.socketPath, config.socketMode);
    return server;
  }
  return backend.listen({ kind: 'tcp', host: config.host, port: config.port });
}

/** SIGTERM, SIGINT and Passenger's `exit`: start the drain (`/ready` answers 503), keep
 * accepting for HANDOFF_DRAIN_DELAY_MS (not for Passenger, which has already stopped sending),
 * stop accepting, let in-flight requests finish (up to HANDOFF_SHUTDOWN_TIMEOUT_MS), exit 0. A
 * second signal exits at once. */
function handleShutdown(config: Config, server: RunningServer, passenger: PhusionPassenger | undefined): void {
  let stopping = false;
  const stop = (why: string, delayMs: number) => {
    if (stopping) {
      log('main', `${why} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    server.drain();
    if (delayMs > 0) {
      log('main', `${why}: /ready answers 503; still accepting for ${delayMs} ms`);
      setTimeout(() => close(why), delayMs);
    } else {
      close(why);
    }
  };
  const close = (why: string) => {
    log('main', `${why}: finishing in-flight requests (up to ${config.shutdownTimeoutMs} ms)`);
    server.close(config.shutdownTimeoutMs).then(
      () => {
        log('main', 'stopped');
        process.exit(0);
      },
      (error: unknown) => {
        log('main', `shutdown failed: ${describeError(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM', config.drainDelayMs));
  process.on('SIGINT', () => stop('SIGINT', config.drainDelayMs));
  // With a listener here, Passenger's loader leaves the exit to us (docs/hosting.md, shutdown).
  passenger?.on('exit', () => stop('Passenger asked the app to exit', 0));
  // LiteSpeed stops an app with SIGTERM and, right after it, SIGUSR1 (killProcess in
  // litespeedtech/openlitespeed src/extensions/localworker.cpp). Node's default for SIGUSR1
  // opens its inspector on 127.0.0.1:9229, where any local user of a shared host could run
  // code as this app; a listener prevents that. The SIGTERM does the stop: the kernel may
  // deliver the two in either order, so SIGUSR1 must not count as a first (or second) signal.
  if (findLiteSpeed()) process.on('SIGUSR1', () => log('main', 'SIGUSR1 ignored (LiteSpeed sends it with SIGTERM)'));
  server.closed.then(() => {
    if (!stopping) {
      log('main', 'the server stopped by itself');
      process.exit(1);
    }
  });
}

// Your resources: what your handlers share for the life of the server (a database pool, an HTTP
// client, a cache). `setup` runs once before the server listens (a failure stops the start:
// `[main] cannot start: setup failed: <message>`, exit 1, before Passenger is told the app is
// up); `close` runs on graceful shutdown, after the in-flight requests have finished. Handlers
// read them as `context.resources`. This is the fallback's side (fastify/express); the native
// server has its own in native/src/app/mod.rs.
import type { Config } from '../config';

/** What `setup` creates and handlers use, e.g. `readonly db: Pool;`. */
// biome-ignore lint/suspicious/noEmptyInterface: to be filled in by the app
export interface Resources {}

/** Creates the resources, once per server, before it listens. Read your settings from
 * `config.app` (src/config.ts, "Your settings"). Throw to refuse to start. */
export async function setup(_config: Config): Promise<Resources> {
  return {};
}

/** Releases the resources on graceful shutdown, once no request is in flight (or the shutdown
 * grace is over). A failure is logged; the shutdown goes on. */
export async function close(_resources: Resources): Promise<void> {}

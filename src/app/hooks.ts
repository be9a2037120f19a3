// Your resources: what your handlers share for the life of the server (a database pool, an HTTP
// client, a cache). `setup` runs once before the server listens (a failure stops the start:
// `[main] cannot start: setup failed: <message>`, exit 1, before Passenger is told the app is
// up); `close` runs on graceful shutdown, after the in-flight requests have finished; `checks`
// says what `GET /health` reports. Handlers read them as `context.resources`. This is the
// fallback's side (fastify/express); the native server has its own in native/src/app/mod.rs.
import type { Config } from '../config';
import { openNotes } from '../examples/notes'; // [examples]

// The notes example adds its `notes` store to Resources in src/examples/notes/index.ts. // [examples]
/** What `setup` creates and handlers use, e.g. `readonly db: Pool;`. */
// biome-ignore lint/suspicious/noEmptyInterface: to be filled in by the app
export interface Resources {}

/** Creates the resources, once per server, before it listens. Read your settings from
 * `config.app` (src/config.ts, "Your settings"). Throw to refuse to start. A resource that may
 * be down at start (a database) should connect lazily rather than throw. */
export async function setup(_config: Config): Promise<Resources> {
  return {
    // One line per resource, e.g. `db: createPool(_config.app.databaseUrl),`
    notes: await openNotes(_config.app.databaseUrl), // [examples]
  };
}

/** Releases the resources on graceful shutdown, once no request is in flight (or the shutdown
 * grace is over). A failure is logged; the shutdown goes on. */
export async function close(_resources: Resources): Promise<void> {
  // One line per resource, e.g. `await _resources.db.end();`
  await _resources.notes.close(); // [examples]
}

/** What `GET /health` reports under `checks`: a name and whether it is up, for each resource the
 * app depends on (`status` is `degraded` when one is down). Each check must answer within about
 * a second (a check that times out reports down). The template has none. */
export async function checks(_resources: Resources): Promise<Record<string, boolean>> {
  return {
    // One line per check, e.g. `db: await isUp(_resources.db),`
    database: await _resources.notes.isUp(), // [examples]
  };
}

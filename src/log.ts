// Log lines on stderr (Passenger copies them into its log). Each line names its component,
// and request lines have the same shape as the native server's (native/src/serve/log.rs).
//
// Request lines are batched, as natively: they collect until the next one would take the batch
// past BATCH_BYTES, or for FLUSH_DELAY_MS after the first one, whichever comes first; any other
// line, and the process's exit (process.exit after a graceful stop included), writes them
// first. Writes to stderr are synchronous for files, pipes and terminals, so none is lost on
// exit and the order is kept.

/** Largest batch written at once: PIPE_BUF, the most a write to a pipe keeps in one piece, so
 * lines the native server writes to the same stderr never land inside a batch. */
export const BATCH_BYTES = 4096;

/** How late a buffered request line may be written at most (on a quiet server). */
export const FLUSH_DELAY_MS = 5;

let pending = '';
let timer: NodeJS.Timeout | undefined;
let hooked = false;

/** Writes the request lines still buffered. */
export function flushLog(): void {
  if (timer !== undefined) {
    clearTimeout(timer);
    timer = undefined;
  }
  if (pending === '') return;
  const lines = pending;
  pending = '';
  process.stderr.write(lines);
}

/** Writes `[component] message` as one line, after the request lines still buffered. */
export function log(component: string, message: string): void {
  flushLog();
  process.stderr.write(`[${component}] ${message.replace(/\s*\n\s*/g, ' ')}\n`);
}

/** Buffers one `[component] message` request line (see above). */
export function logRequestLine(component: string, message: string): void {
  const line = `[${component}] ${message.replace(/\s*\n\s*/g, ' ')}\n`;
  if (pending.length + line.length > BATCH_BYTES) flushLog();
  pending += line;
  if (!hooked) {
    hooked = true;
    process.on('exit', flushLog);
  }
  if (timer === undefined) {
    timer = setTimeout(flushLog, FLUSH_DELAY_MS);
    // The timer alone does not keep the process alive: the exit writes what is left.
    timer.unref();
  }
}

/** `<client> <method> <path> <status> <ms>ms`, the request-log message of every backend. */
export function formatRequestLine(
  client: string,
  method: string,
  path: string,
  status: number,
  durationMs: number,
): string {
  return `${client} ${method} ${path} ${status} ${durationMs.toFixed(2)}ms`;
}

/** A readable one-line description of anything thrown. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

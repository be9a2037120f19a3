// Log lines on stderr (Passenger copies them into its log). Each line names its component,
// and request lines have the same shape as the native server's (native/src/serve/log.rs).

/** Writes `[component] message` as one line. */
export function log(component: string, message: string): void {
  process.stderr.write(`[${component}] ${message.replace(/\s*\n\s*/g, ' ')}\n`);
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

// One line of doctor's answer.

/** ok: nothing to do; warn: works, but not as meant (or will break under load); fail: broken. */
export type Status = 'ok' | 'warn' | 'fail';

/** The outcome of one check. */
export interface Check {
  /** A short stable name, e.g. `nodevenv`, `native-cpu`. */
  readonly id: string;
  readonly status: Status;
  /** What was found, one sentence. */
  readonly message: string;
  /** For warn and fail: what to do, one sentence. */
  readonly fix?: string;
}

export function ok(id: string, message: string): Check {
  return { id, status: 'ok', message };
}

export function warn(id: string, message: string, fix: string): Check {
  return { id, status: 'warn', message, fix };
}

export function fail(id: string, message: string, fix: string): Check {
  return { id, status: 'fail', message, fix };
}

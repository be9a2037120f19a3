// The error catalogue: every error the API answers with, the same on every backend. It lives in
// errors.json, which the native server reads too (native/build.rs generates its ErrorCode from
// it), so adding an error is one entry there plus the `throw new ApiError('<code>')` that uses it.
import catalogue from './errors.json';

/** One of the catalogued codes: a key of errors.json. */
export type ErrorCode = keyof typeof catalogue;

/** An entry of errors.json. `message` may hold `{placeholders}`, filled by ApiError's params;
 * `close` makes the answer close the connection; `example` marks the demo's own errors. */
interface CatalogueEntry {
  readonly status: number;
  readonly message: string;
  readonly close?: boolean;
  readonly example?: boolean;
}

const ENTRIES: Readonly<Record<ErrorCode, CatalogueEntry>> = catalogue;

/** Every error code with its HTTP status and message template, in the file's order. */
export const ERROR_CATALOGUE: readonly {
  readonly code: ErrorCode;
  readonly status: number;
  readonly message: string;
}[] = (Object.keys(ENTRIES) as ErrorCode[]).map((code) => ({
  code,
  status: ENTRIES[code].status,
  message: ENTRIES[code].message,
}));

/** Values for a message's `{placeholders}`. */
export type ErrorParams = Readonly<Record<string, string | number>>;

/** An error to answer with: thrown by handlers, turned into `{"error":{"code","message"}}` with
 * the catalogued status. `params` fill the message's placeholders
 * (`new ApiError('payload_too_large', { limit })`); `headers` are added to the answer (405's
 * `allow`). An entry with `"close": true` also sends `connection: close`. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly code: ErrorCode,
    params: ErrorParams = {},
    headers: Readonly<Record<string, string>> = {},
  ) {
    const entry = ENTRIES[code];
    super(fillPlaceholders(code, entry.message, params));
    this.status = entry.status;
    this.headers = entry.close === true ? { ...headers, connection: 'close' } : headers;
  }

  /** The JSON body sent to the client. */
  toBody(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** `The limit of {limit} bytes.` with `{ limit: 5 }` → `The limit of 5 bytes.` A placeholder
 * without a value is a programming error: it throws (and so answers 500, logged). */
function fillPlaceholders(code: ErrorCode, template: string, params: ErrorParams): string {
  return template.replace(/\{([A-Za-z0-9_]+)\}/g, (_placeholder, name: string) => {
    const value = Object.hasOwn(params, name) ? params[name] : undefined;
    if (value === undefined) throw new Error(`new ApiError('${code}') needs a value for {${name}}`);
    return String(value);
  });
}

// The error catalogue: every error the API answers with, the same on every backend. The native
// server keeps the same catalogue in native/src/api/error.rs; the contract tests compare them.

/** Every error code with its HTTP status. */
export const ERROR_CATALOGUE = [
  { code: 'not_found', status: 404 },
  { code: 'method_not_allowed', status: 405 },
  { code: 'invalid_name', status: 400 },
  { code: 'unsupported_media_type', status: 415 },
  { code: 'invalid_json', status: 400 },
  { code: 'payload_too_large', status: 413 },
  { code: 'body_read_failed', status: 400 },
  { code: 'bad_request', status: 400 },
  { code: 'request_timeout', status: 408 },
  { code: 'internal_error', status: 500 },
] as const;

/** One of the catalogued codes. */
export type ErrorCode = (typeof ERROR_CATALOGUE)[number]['code'];

/** An error to answer with: thrown by handlers, turned into `{"error":{"code","message"}}`. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.status = statusOf(code);
  }

  /** The JSON body sent to the client. */
  toBody(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

function statusOf(code: ErrorCode): number {
  const entry = ERROR_CATALOGUE.find((e) => e.code === code);
  return entry ? entry.status : 500;
}

/** Constructors for each error, with the exact messages the native server sends. */
export const errors = {
  notFound: () => new ApiError('not_found', 'No route matches this path.'),
  methodNotAllowed: (allow: string) =>
    new ApiError('method_not_allowed', 'This path does not accept this method; see the Allow header.', {
      allow,
    }),
  invalidName: () => new ApiError('invalid_name', 'The name parameter must be 1 to 100 characters long.'),
  unsupportedMediaType: () =>
    new ApiError('unsupported_media_type', 'The request body must be sent as Content-Type: application/json.'),
  invalidJson: () => new ApiError('invalid_json', 'The request body is not valid JSON.'),
  // The rest of an oversized body is never read, so the connection cannot be reused.
  payloadTooLarge: (limit: number) =>
    new ApiError('payload_too_large', `The request body is larger than the limit of ${limit} bytes.`, {
      connection: 'close',
    }),
  bodyReadFailed: () => new ApiError('body_read_failed', 'The request body could not be read.'),
  // Node refuses these requests itself, with a bare 400; the native server answers with this.
  badRequest: () => new ApiError('bad_request', 'The request is malformed.', { connection: 'close' }),
  requestTimeout: () =>
    new ApiError('request_timeout', 'The request body took too long to arrive.', { connection: 'close' }),
  internal: () => new ApiError('internal_error', 'Internal server error.'),
};

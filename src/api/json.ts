// JSON responses: one content type, byte for byte the same as the native server's.

/** The `Content-Type` of every JSON response. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** Serialises a response body. */
export function toJsonBuffer(body: unknown): Buffer {
  return Buffer.from(JSON.stringify(body), 'utf8');
}

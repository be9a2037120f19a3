// Reading request bodies within a limit, recognising JSON, and parsing JSON by the same rules
// as the native server (serde_json), so both backends agree on what is valid.
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError } from './errors';
import type { ApiContext, ApiRequest } from './types';

/** Deepest nesting serde_json accepts (its recursion limit of 128 allows 127 levels). */
export const MAX_JSON_DEPTH = 127;

/** Refuses at once a body whose declared Content-Length is over `limit`, before reading it. */
export function checkDeclaredLength(headers: IncomingHttpHeaders, limit: number): void {
  const declared = headers['content-length'];
  if (declared !== undefined && /^\s*\d+\s*$/.test(declared) && Number(declared) > limit) {
    throw new ApiError('payload_too_large', { limit });
  }
}

/** How much of a body may arrive, and how fast. */
export interface BodyLimits {
  readonly bytes: number;
  /** Milliseconds at most, from the first read. */
  readonly timeMs: number;
}

/** Calls `onChunk` for each chunk of the body, failing with 413 once it passes `limits.bytes`
 * and with 408 once it takes longer than `limits.timeMs`. A declared length over the limit is
 * refused before anything is read. */
export async function streamLimited(
  request: ApiRequest,
  limits: BodyLimits,
  onChunk: (chunk: Buffer) => void,
): Promise<number> {
  const limit = limits.bytes;
  checkDeclaredLength(request.headers, limit);
  request.willReadBody();
  // A client trickling its body (or stalling) gets a 408, as natively. Reading stops, the
  // stream is left alone (destroying it would destroy the socket before the 408 is written).
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ApiError('request_timeout')), limits.timeMs);
  });
  const chunks = request.body[Symbol.asyncIterator]();
  let total = 0;
  try {
    for (;;) {
      const next = chunks.next();
      next.catch(() => {}); // still pending when the deadline wins; its end does not matter then
      const { value, done } = await Promise.race([next, expired]);
      if (done) break;
      const buffer = typeof value === 'string' ? Buffer.from(value) : (value as Buffer);
      total += buffer.length;
      if (total > limit) throw new ApiError('payload_too_large', { limit });
      onChunk(buffer);
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError('body_read_failed');
  } finally {
    clearTimeout(timer);
  }
  return total;
}

/** Reads the whole body, failing with 413 once it passes `limit` bytes. */
export async function readLimited(request: ApiRequest, limits: BodyLimits): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await streamLimited(request, limits, (chunk) => chunks.push(chunk));
  return Buffer.concat(chunks);
}

/** Reads a JSON request body as every backend does: 415 `unsupported_media_type` unless the
 * Content-Type is JSON, 413 `payload_too_large` over `context.bodyLimit` (HANDOFF_BODY_LIMIT),
 * 408 `request_timeout` when it arrives too slowly, 400 `invalid_json` unless it is JSON as
 * serde_json reads it. Returns the parsed value: check its shape yourself (and throw
 * `new ApiError('invalid_body')` when it is not what the route expects). */
export async function readJson(request: ApiRequest, context: ApiContext): Promise<unknown> {
  if (!isJsonContentType(request.headers)) throw new ApiError('unsupported_media_type');
  return parseJsonStrict(await readBody(request, context));
}

/** Reads the whole body: 413 over `limit` bytes (default `context.bodyLimit`), 408 when it
 * arrives too slowly (HANDOFF_REQUEST_TIMEOUT_MS). */
export function readBody(request: ApiRequest, context: ApiContext, limit = context.bodyLimit): Promise<Buffer> {
  return readLimited(request, { bytes: limit, timeMs: context.requestTimeoutMs });
}

/** Hands each chunk of the body to `onChunk` as it arrives, without keeping it; resolves with
 * the byte count. 413 over `limit` bytes (default `context.bodyLimit`; a declared length over
 * it is refused before anything is read), 408 when it arrives too slowly. */
export function streamBody(
  request: ApiRequest,
  context: ApiContext,
  onChunk: (chunk: Buffer) => void,
  limit = context.bodyLimit,
): Promise<number> {
  return streamLimited(request, { bytes: limit, timeMs: context.requestTimeoutMs }, onChunk);
}

/** True for `application/json` and `application/<anything>+json`, parameters ignored. */
export function isJsonContentType(headers: IncomingHttpHeaders): boolean {
  const value = headers['content-type'];
  if (value === undefined) return false;
  // A header value that is not visible ASCII is not text to the native server (http's to_str).
  if (/[^\t\x20-\x7e]/.test(value)) return false;
  const mediaType = (value.split(';')[0] ?? '').trim().toLowerCase();
  if (!mediaType.startsWith('application/')) return false;
  const subtype = mediaType.slice('application/'.length);
  return subtype === 'json' || (subtype.length > 5 && subtype.endsWith('+json'));
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// Only texts that could hold a lone surrogate or a number beyond a double need the slower,
// checking parse.
const NEEDS_VALUE_CHECK = /\\u[dD][89a-fA-F]|\d{309}|\d[eE][+-]?\d/;

/** Parses JSON as serde_json does: strict UTF-8, no BOM, depth ≤ 127, finite numbers, no lone
 * surrogates. Throws the `invalid_json` ApiError otherwise. */
export function parseJsonStrict(bytes: Buffer): unknown {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw new ApiError('invalid_json');
  }
  if (jsonDepth(text) > MAX_JSON_DEPTH) throw new ApiError('invalid_json');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError('invalid_json');
  }
  // JSON.parse takes lone surrogates and turns overflowing numbers into Infinity, where
  // serde_json refuses both; a reviver would not see a value hidden by a repeated key
  // ({"a":1e400,"a":1}), so the text itself is scanned.
  if (NEEDS_VALUE_CHECK.test(text) && !valuesAreStrict(text)) throw new ApiError('invalid_json');
  return value;
}

/** False if a string literal of `text` (valid JSON) holds a lone surrogate, or a number is not
 * a finite double. */
function valuesAreStrict(text: string): boolean {
  const token = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
  for (const [literal] of text.matchAll(token)) {
    if (literal.startsWith('"')) {
      if (hasLoneSurrogate(JSON.parse(literal) as string)) return false;
    } else if (!Number.isFinite(Number(literal))) {
      return false;
    }
  }
  return true;
}

/** The deepest nesting of `[` and `{` outside strings. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

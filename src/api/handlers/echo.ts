import { isJsonContentType, parseJsonStrict, readLimited } from '../body';
import { errors } from '../errors';
import type { Handler } from '../types';

/** `POST /echo`: 415 unless declared JSON, 413 over the body limit, 400 unless valid JSON. */
export const echoPost: Handler = async (request, context) => {
  if (!isJsonContentType(request.headers)) throw errors.unsupportedMediaType();
  const bytes = await readLimited(request, { bytes: context.bodyLimit, timeMs: context.requestTimeoutMs });
  return { status: 200, body: parseJsonStrict(bytes) };
};

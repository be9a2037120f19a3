import { createHash } from 'node:crypto';
import { streamLimited } from '../body';
import type { Handler } from '../types';

/** `POST /hash`: SHA-256 of the body, hashed chunk by chunk as it streams in. */
export const hashPost: Handler = async (request, context) => {
  const hash = createHash('sha256');
  const bytes = await streamLimited(request, { bytes: context.hashLimit, timeMs: context.requestTimeoutMs }, (chunk) =>
    hash.update(chunk),
  );
  return { status: 200, body: { sha256: hash.digest('hex'), bytes } };
};

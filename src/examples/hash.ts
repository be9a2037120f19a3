import type * as crypto from 'node:crypto';
import { type Handler, streamBody } from '../api';

/** node:crypto, loaded at the first `POST /hash` rather than at start: only this route needs it,
 * and loading it was about 6% of a fastify start (docs/performance.md, "Cold start"). */
let createHash: typeof crypto.createHash | undefined;

/** `POST /hash`: SHA-256 of the body, hashed chunk by chunk as it streams in, up to
 * HANDOFF_HASH_LIMIT bytes (an example of your own setting: `context.app.hashLimit`). */
export const hashPost: Handler = async (request, context) => {
  createHash ??= (require('node:crypto') as typeof crypto).createHash;
  const hash = createHash('sha256');
  const bytes = await streamBody(request, context, (chunk) => hash.update(chunk), context.app.hashLimit);
  return { status: 200, body: { sha256: hash.digest('hex'), bytes } };
};

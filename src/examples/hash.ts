import { createHash } from 'node:crypto';
import { type Handler, streamBody } from '../api';

/** `POST /hash`: SHA-256 of the body, hashed chunk by chunk as it streams in, up to
 * HANDOFF_HASH_LIMIT bytes (an example of your own setting: `context.app.hashLimit`). */
export const hashPost: Handler = async (request, context) => {
  const hash = createHash('sha256');
  const bytes = await streamBody(request, context, (chunk) => hash.update(chunk), context.app.hashLimit);
  return { status: 200, body: { sha256: hash.digest('hex'), bytes } };
};

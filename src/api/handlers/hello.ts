import { errors } from '../errors';
import type { Handler } from '../types';

/** Longest accepted `name`, in Unicode code points (what Rust's `chars()` counts). */
const MAX_NAME_CHARS = 100;

/** `GET /hello?name=`: a greeting, the smallest route to copy when adding one. */
export const helloGet: Handler = (request) => {
  const name = request.query.get('name');
  if (name === null) return { status: 200, body: { message: 'Hello, World!' } };
  const length = [...name].length;
  if (length < 1 || length > MAX_NAME_CHARS) throw errors.invalidName();
  return { status: 200, body: { message: `Hello, ${name}!` } };
};

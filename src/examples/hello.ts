import { ApiError, type Handler } from '../api';

/** Longest accepted `name`, in Unicode code points (what Rust's `chars()` counts). */
const MAX_NAME_CHARS = 100;

/** `{"message":"Hello, <name>!"}`; 400 `invalid_name` unless 1 to 100 characters long. */
function greet(name: string) {
  const length = [...name].length;
  if (length < 1 || length > MAX_NAME_CHARS) throw new ApiError('invalid_name');
  return { status: 200, body: { message: `Hello, ${name}!` } };
}

/** `GET /hello?name=`: a greeting, the smallest route to copy when adding one. */
export const helloGet: Handler = (request) => {
  const name = request.query.get('name');
  if (name === null) return { status: 200, body: { message: 'Hello, World!' } };
  return greet(name);
};

/** `GET /hello/{name}`: the same greeting, the name from a path parameter. */
export const helloNameGet: Handler = (request) => greet(request.params.name ?? '');

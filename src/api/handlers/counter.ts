import type { Handler } from '../types';

/** `GET /counter`: the current value. */
export const counterGet: Handler = (_request, context) => ({
  status: 200,
  body: { value: context.counter.value },
});

/** `POST /counter`: adds one and returns the new value. */
export const counterPost: Handler = (_request, context) => {
  context.counter.value += 1;
  return { status: 200, body: { value: context.counter.value } };
};

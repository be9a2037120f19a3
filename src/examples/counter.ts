import type { Route } from '../api';

/** `GET /counter` (the value) and `POST /counter` (adds one): state of one server, created with
 * its route table. A JavaScript server runs handlers on one thread, so `+=` cannot race. */
export function counterRoute(): Route {
  const counter = { value: 0 };
  return {
    path: '/counter',
    methods: {
      GET: () => ({ status: 200, body: { value: counter.value } }),
      POST: () => {
        counter.value += 1;
        return { status: 200, body: { value: counter.value } };
      },
    },
  };
}

import { type Handler, readJson } from '../api';

/** `POST /echo`: the JSON body back. 415 unless declared JSON, 413 over HANDOFF_BODY_LIMIT, 400
 * unless valid JSON (all from `readJson`). */
export const echoPost: Handler = async (request, context) => ({
  status: 200,
  body: await readJson(request, context),
});

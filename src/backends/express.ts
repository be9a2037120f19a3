// The express fallback: a tiny adapter around the shared dispatcher (src/api/router.ts).
import { pipeline } from 'node:stream/promises';
import express from 'express';
import type { Config } from '../config';
import { describeError, log } from '../log';
import {
  answerBare,
  createNodeServer,
  hasRefusedTargetCharacters,
  listenNodeServer,
  logRequest,
  prepareApi,
  responseHeaders,
  responsePayload,
  toRawRequest,
} from './node-server';
import type { Backend } from './types';

/** Runs your setup hook and builds the express app; `listen` only has to bind. */
export async function createExpressBackend(config: Config): Promise<Backend> {
  const { dispatch, readiness, close } = await prepareApi(config, 'express');
  const app = express();
  // Same answers as the other backends: no ETag, no X-Powered-By, exact paths.
  app.set('etag', false);
  app.set('x-powered-by', false);
  app.set('strict routing', true);
  app.set('case sensitive routing', true);
  app.use((req, res) => {
    logRequest('express', req, res, config);
    if (hasRefusedTargetCharacters(req.url)) {
      answerBare(res, 400);
      return;
    }
    dispatch(toRawRequest(req, res))
      .then((response) => {
        res.status(response.status).set(responseHeaders(response));
        const payload = responsePayload('express', req, response);
        if (Buffer.isBuffer(payload)) res.send(payload);
        else pipeline(payload, res).catch(() => {}); // logged by responsePayload; res is destroyed
      })
      .catch((error: unknown) => {
        // dispatch never rejects; if writing fails the client has gone.
        log('express', `cannot answer ${req.method} ${req.url}: ${describeError(error)}`);
      });
  });
  return {
    name: 'express',
    listen: (target) => listenNodeServer(createNodeServer(config, app), target, readiness, close, config, 'express'),
  };
}

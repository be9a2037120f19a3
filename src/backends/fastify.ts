// The fastify fallback: a tiny adapter around the shared dispatcher (src/api/router.ts).
import type { Readable } from 'node:stream';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { ApiError } from '../api/errors';
import { JSON_CONTENT_TYPE, toJsonBuffer } from '../api/json';
import type { Config } from '../config';
import { describeError, log } from '../log';
import {
  answerBare,
  answerClientError,
  createNodeServer,
  hasRefusedTargetCharacters,
  listenNodeServer,
  logRequest,
  NO_STORE,
  prepareApi,
  responseHeaders,
  responsePayload,
  toRawRequest,
} from './node-server';
import type { Backend } from './types';

/** Stands in for fastify's schema compilers, which the app never needs. */
function noSchemas(): () => never {
  return () => {
    throw new Error('fastify schemas are not used here: routes are served by the dispatcher (src/api/router.ts)');
  };
}

/** Runs your setup hook, builds the fastify app and waits for `ready()`, so that `listen` only
 * has to bind. */
export async function createFastifyBackend(config: Config): Promise<Backend> {
  const { dispatch, readiness, close } = await prepareApi(config, 'fastify');
  const app = Fastify({
    logger: false,
    // No route has a schema (the dispatcher routes, reads and writes every body): without these
    // factories fastify would load ajv and fast-json-stringify at every start, about half of
    // its cold start (bench/, S8).
    schemaController: { compilersFactory: { buildValidator: noSchemas, buildSerializer: noSchemas } },
    serverFactory: (handler) => createNodeServer(config, handler),
    clientErrorHandler: answerClientError,
    // Routing happens in the dispatcher on the raw path, exactly as the native router does it.
    exposeHeadRoutes: false,
    // Requests on kept-alive connections during shutdown are still served, as natively.
    return503OnClosing: false,
    // A path fastify cannot decode (`/a%zz`) is still ours to answer: 404 like every backend,
    // not fastify's own FST_ERR_BAD_URL body.
    frameworkErrors: (_error, request, reply) => {
      void handle(request, reply);
    },
  });
  // Bodies are read (and limited) by the handlers, as they stream in: hand over the raw stream
  // for every content type, or none.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  async function handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    logRequest('fastify', request.raw, reply.raw, config);
    if (hasRefusedTargetCharacters(request.raw.url ?? '/')) {
      reply.hijack();
      answerBare(reply.raw, 400);
      return reply;
    }
    const body = (request.body as Readable | undefined) ?? request.raw;
    const response = await dispatch(toRawRequest(request.raw, reply.raw, body));
    return reply
      .code(response.status)
      .headers(responseHeaders(response))
      .send(responsePayload('fastify', request.raw, response));
  }
  app.route({ method: app.supportedMethods, url: '*', handler: handle });
  app.setNotFoundHandler(handle);
  app.setErrorHandler((error: Error & { code?: string }, request, reply) => {
    // fastify checks the Content-Type header before any parser runs (an empty one is
    // FST_ERR_CTP_INVALID_MEDIA_TYPE); the body is still unread, so let the API judge it.
    if (error.code?.startsWith('FST_ERR_CTP_')) return handle(request, reply);
    log('fastify', `cannot answer ${request.method} ${request.url}: ${describeError(error)}`);
    const internal = new ApiError('internal_error');
    return reply
      .code(internal.status)
      .headers({ 'content-type': JSON_CONTENT_TYPE, ...NO_STORE, ...internal.headers })
      .send(toJsonBuffer(internal.toBody()));
  });
  await app.ready();

  return {
    name: 'fastify',
    listen: (target) =>
      listenNodeServer(
        app.server,
        target,
        readiness,
        async () => {
          await app.close();
          await close();
        },
        config,
        'fastify',
      ),
  };
}

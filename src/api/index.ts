// What a handler needs, in one import: `import { ApiError, readJson, type Handler } from '../api'`.
export { readBody, readJson, streamBody } from './body';
export { ApiError, type ErrorCode, type ErrorParams } from './errors';
export type { ApiContext, ApiRequest, ApiResponse, Handler, Method, Route } from './types';

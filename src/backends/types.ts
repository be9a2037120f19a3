// The one interface every backend meets: bind a target synchronously, close gracefully later.
import type { BackendName } from '../api/types';

/** Where to listen. */
export type ListenTarget =
  | { readonly kind: 'path'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'fd'; readonly fd: number };

/** A server that is bound and serving. */
export interface RunningServer {
  /** Where it listens, for the log. */
  readonly address: string;
  /** The TCP port, when listening on TCP. */
  readonly port: number | undefined;
  /** Resolves once the socket accepts connections; rejects if the bind failed. */
  readonly listening: Promise<void>;
  /** Resolves once the server has stopped and no connection is left. */
  readonly closed: Promise<void>;
  /** Starts the drain: `GET /ready` answers 503 `draining` and responses close their
   * connection, while the server still accepts. */
  drain(): void;
  /** Starts the drain if not yet, stops accepting, lets in-flight requests finish for up to `graceMs`, then drops the rest. */
  close(graceMs: number): Promise<void>;
}

/** A backend ready to serve: everything slow is done, `listen` binds synchronously. */
export interface Backend {
  readonly name: BackendName;
  listen(target: ListenTarget): RunningServer;
}

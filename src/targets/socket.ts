// HANDOFF_SOCKET: a Unix socket path we own. A stale socket file (left by a process that died)
// is replaced; a path where a process is still listening is never taken from it.
import { lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';

/** Makes `path` ready to bind: removes a stale socket, refuses a live one or a non-socket. */
export async function prepareSocketPath(path: string): Promise<void> {
  let stats: ReturnType<typeof lstatSync>;
  try {
    stats = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stats.isSocket()) {
    throw new Error(`HANDOFF_SOCKET=${path} exists and is not a socket; remove it or choose another path.`);
  }
  if (await isListening(path)) {
    throw new Error(`another process is listening on ${path}; stop it or choose another HANDOFF_SOCKET.`);
  }
  unlinkSync(path);
}

/** True when a process accepts on `path`; false only when nobody does (ECONNREFUSED). Any
 * other failure (EACCES, EAGAIN from a full backlog) might hide a live owner, so it throws. */
function isListening(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') resolve(false);
      else
        reject(
          new Error(
            `cannot tell whether a process listens on ${path} (${error.code ?? error.message}); not replacing it.`,
          ),
        );
    });
  });
}

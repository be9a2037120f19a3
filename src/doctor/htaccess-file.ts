// Finding the `.htaccess` that starts this app (CloudLinux's "Setup Node.js App" writes it into
// the folder of the application URL, e.g. ~/public_html/api/.htaccess) and reading its Passenger
// lines and the variables the panel writes there as `SetEnv` (docs/hosting.md).
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';

/** A `.htaccess` with Passenger lines. */
export interface HtaccessFile {
  readonly file: string;
  /** `Passenger*` directives by name (the last one wins, as in Apache). */
  readonly directives: ReadonlyMap<string, string>;
  /** `SetEnv NAME value` lines, in order (the panel's environment variables). */
  readonly env: Readonly<Record<string, string>>;
  /** The URL path of its folder, when the document root it was found in is known: `/api`, `/`. */
  readonly urlPath: string | undefined;
}

/** At most this many folders are looked at when guessing where the site's files are. */
const MAX_FOLDERS = 2000;
const MAX_DEPTH = 4;

/** Parses one `.htaccess`; undefined when it has no Passenger line. */
export function readHtaccess(file: string, urlPath: string | undefined): HtaccessFile | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const directives = new Map<string, string>();
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const match = /^(\S+)\s+(.*)$/.exec(line);
    if (!match?.[1] || match[2] === undefined || line.startsWith('#')) continue;
    const name = match[1];
    if (/^Passenger/i.test(name)) directives.set(name.toLowerCase(), unquote(match[2]));
    if (/^SetEnv$/i.test(name)) {
      const setEnv = /^(\S+)\s*(.*)$/.exec(match[2]);
      if (setEnv?.[1]) env[setEnv[1]] = unquote(setEnv[2] ?? '');
    }
  }
  if (directives.size === 0) return undefined;
  return { file, directives, env, urlPath };
}

function unquote(value: string): string {
  const trimmed = value.trim();
  return /^".*"$/.test(trimmed) ? trimmed.slice(1, -1) : trimmed;
}

/** Every `.htaccess` with Passenger lines under `docRoot` (a few levels down), with the URL path
 * of its folder relative to `docRoot`. */
export function findHtaccessFiles(docRoot: string): HtaccessFile[] {
  const found: HtaccessFile[] = [];
  let visited = 0;
  const walk = (dir: string, depth: number) => {
    if (visited++ > MAX_FOLDERS) return;
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (entries.some((entry) => entry.name === '.htaccess' && entry.isFile())) {
      const relative = path.relative(docRoot, dir).split(path.sep).join('/');
      const parsed = readHtaccess(path.join(dir, '.htaccess'), `/${relative}`);
      if (parsed) found.push(parsed);
    }
    if (depth >= MAX_DEPTH) return;
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      walk(path.join(dir, entry.name), depth + 1);
    }
  };
  walk(docRoot, 0);
  return found;
}

/** Whether `a` and `b` name the same folder (links resolved). */
export function sameFolder(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  return real(a) === real(b);
}

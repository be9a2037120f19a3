// The `.htaccess` block that CloudLinux's "Setup Node.js App" writes (docs/hosting.md), so a user can
// write it by hand on a host without the panel, or check what the panel wrote. The committed
// top-level `.htaccess` is this block rendered with the placeholder values below.
import path from 'node:path';

/** What the block names. */
export interface HtaccessOptions {
  /** The folder holding `app.js` (absolute), e.g. `/home/me/passenger-handoff`. */
  readonly appRoot: string;
  /** The URL path the app answers under, e.g. `/api`; `/` for the whole site. */
  readonly baseUri: string;
  /** The Node binary Passenger starts (absolute), e.g. `/home/me/nodevenv/passenger-handoff/20/bin/node`. */
  readonly node: string;
  /** The startup file, relative to the app root. @default 'app.js' */
  readonly startupFile?: string;
}

/** The values of the committed `.htaccess`: a cPanel account `USER`, the app in `~/passenger-handoff`. */
export const PLACEHOLDER_VALUES: HtaccessOptions = Object.freeze({
  appRoot: '/home/USER/passenger-handoff',
  baseUri: '/api',
  node: '/home/USER/nodevenv/passenger-handoff/20/bin/node',
});

/** A value that cannot go into the block; the message names the option. */
export class HtaccessError extends Error {
  override name = 'HtaccessError';
}

const HEADER = `# Phusion Passenger configuration for passenger-handoff, in the form CloudLinux's
# "Setup Node.js App" writes it (cPanel and similar hosts). Put this file in the folder of
# your site that matches the URL path, e.g. ~/public_html/api/.htaccess for https://example.com/api
# (the panel writes it there itself when you create the app: then leave its block as it is).
#
# Change the three quoted values, or let the command write them (one line, run in the app root):
#   node dist/cli.js htaccess --base-uri /api
#     --node ~/nodevenv/passenger-handoff/20/bin/node --out ~/public_html/api/.htaccess
#
#   PassengerAppRoot      the folder you uploaded (it holds app.js, dist/, native/)
#   PassengerBaseURI      the URL path; the API answers under it (/api/health)
#   PassengerNodejs       the Node binary: the panel's nodevenv for the version you chose
#
# Stock Apache refuses these lines in an .htaccess ("PassengerAppRoot not allowed here"): only
# CloudLinux's Passenger allows them. Elsewhere put them in the <VirtualHost> instead.
`;

/** The marker lines of the block, as CloudLinux writes them. */
export const BLOCK_BEGIN = '# DO NOT REMOVE. CLOUDLINUX PASSENGER CONFIGURATION BEGIN';
export const BLOCK_END = '# DO NOT REMOVE. CLOUDLINUX PASSENGER CONFIGURATION END';

/** Renders the `.htaccess` file: comments, then the CloudLinux block. Throws HtaccessError. */
export function renderHtaccess(options: HtaccessOptions): string {
  return `${HEADER}\n${renderBlock(options)}`;
}

/** The block alone, from its BEGIN line to its END line (with the newline). Throws HtaccessError. */
export function renderBlock(options: HtaccessOptions): string {
  const appRoot = checkAbsolute('--app-root', options.appRoot);
  const node = checkAbsolute('--node', options.node);
  const baseUri = checkBaseUri(options.baseUri);
  const startupFile = checkValue('--startup-file', options.startupFile ?? 'app.js');
  return `${BLOCK_BEGIN}
PassengerAppRoot "${appRoot}"
PassengerBaseURI "${baseUri}"
PassengerNodejs "${node}"
PassengerAppType node
PassengerStartupFile ${startupFile}
${BLOCK_END}
`;
}

/**
 * The `.htaccess` text with this block in it: `existing` (the file already there, if any) with its
 * marked block replaced and every other line kept (the panel's environment variables, rewrite
 * rules, your own lines); the block appended to a file that has none; the whole rendered file
 * when there is no file yet. Throws HtaccessError for a BEGIN line without its END.
 */
export function mergeHtaccess(existing: string | undefined, options: HtaccessOptions): string {
  const block = renderBlock(options);
  if (existing === undefined) return renderHtaccess(options);
  const lines = existing.split('\n');
  const begin = lines.findIndex((line) => line.trim() === BLOCK_BEGIN);
  if (begin === -1) {
    const separator = existing === '' || existing.endsWith('\n') ? '' : '\n';
    return `${existing}${separator}${existing === '' ? '' : '\n'}${block}`;
  }
  const end = lines.findIndex((line, index) => index > begin && line.trim() === BLOCK_END);
  if (end === -1) {
    throw new HtaccessError(
      `the file has "${BLOCK_BEGIN}" (line ${begin + 1}) but no "${BLOCK_END}" after it: fix it by hand.`,
    );
  }
  const before = lines.slice(0, begin).join('\n');
  const after = lines.slice(end + 1).join('\n');
  return `${before}${begin > 0 ? '\n' : ''}${block}${after}`;
}

function checkValue(option: string, value: string): string {
  // Apache's quoted arguments end at a quote and a directive at a newline: neither can be escaped here.
  if (value === '' || /["\\\r\n\s]/.test(value)) {
    throw new HtaccessError(
      `${option} must be non-empty, without spaces, quotes or backslashes (got ${JSON.stringify(value)}).`,
    );
  }
  return value;
}

function checkAbsolute(option: string, value: string): string {
  checkValue(option, value);
  if (!path.isAbsolute(value))
    throw new HtaccessError(`${option} must be an absolute path (got ${JSON.stringify(value)}).`);
  return path.normalize(value).replace(/(.)\/$/, '$1');
}

function checkBaseUri(value: string): string {
  checkValue('--base-uri', value);
  // The same shape the app accepts for PASSENGER_BASE_URI (src/config.ts), so Apache and the app agree.
  if (!/^\/$|^(\/[A-Za-z0-9._~!$&'()+,;=@%-][A-Za-z0-9._~!$&'()*+,;=:@%-]*)+\/?$/.test(value)) {
    throw new HtaccessError(`--base-uri must be a URL path such as /api or / (got ${JSON.stringify(value)}).`);
  }
  return value === '/' ? value : value.replace(/\/$/, '');
}

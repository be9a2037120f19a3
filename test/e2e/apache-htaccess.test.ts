// The `.htaccess` a user puts on the host: the committed template, the command that writes it,
// and what stock Apache says when it is read as a real .htaccess (the README quotes it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { PLACEHOLDER_VALUES, renderHtaccess } from '../../src/deploy/htaccess';
import { requireApache, startApache } from '../helpers/apache';
import { send } from '../helpers/http';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');

function runCli(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: REPO_ROOT });
}

describe('passenger-handoff htaccess', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'handoff-htaccess-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the committed .htaccess is the block with placeholder values', () => {
    assert.equal(readFileSync(path.join(REPO_ROOT, '.htaccess'), 'utf8'), renderHtaccess(PLACEHOLDER_VALUES));
  });

  it('writes the CloudLinux block with the given values', () => {
    const out = path.join(dir, '.htaccess');
    const node = '/home/ann/nodevenv/app/22/bin/node';
    const result = runCli(
      'htaccess',
      '--app-root',
      '/home/ann/app/',
      '--base-uri',
      '/v1/',
      '--node',
      node,
      '--out',
      out,
    );
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /\[htaccess\] wrote /);
    const block = readFileSync(out, 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'));
    assert.deepEqual(block, [
      'PassengerAppRoot "/home/ann/app"',
      'PassengerBaseURI "/v1"',
      `PassengerNodejs "${node}"`,
      'PassengerAppType node',
      'PassengerStartupFile app.js',
    ]);
  });

  it('--out into an existing .htaccess replaces only its marked block and keeps every other line', () => {
    const out = path.join(dir, 'existing', '.htaccess');
    spawnSync('mkdir', ['-p', path.dirname(out)]);
    const above = 'RewriteEngine On\nRewriteRule ^old$ /new [R=301,L]\n\n';
    const below =
      '\n# DO NOT REMOVE. CLOUDLINUX ENV VARS CONFIGURATION BEGIN\n<IfModule Litespeed>\nSetEnv HANDOFF_THREADS "2"\n</IfModule>\n# DO NOT REMOVE. CLOUDLINUX ENV VARS CONFIGURATION END\nHeader set X-Mine "1"';
    const oldBlock = renderHtaccess({ appRoot: '/home/ann/old', baseUri: '/old', node: '/usr/bin/node' }).slice(
      renderHtaccess({ appRoot: '/home/ann/old', baseUri: '/old', node: '/usr/bin/node' }).indexOf('# DO NOT REMOVE.'),
    );
    writeFileSync(out, `${above}${oldBlock}${below}`);
    chmodSync(out, 0o640);
    const args = [
      'htaccess',
      '--app-root',
      '/home/ann/app',
      '--base-uri',
      '/v1',
      '--node',
      '/n/bin/node',
      '--out',
      out,
    ];
    const result = runCli(...args);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /\[htaccess\] updated the Passenger block in /);
    const newBlock = renderHtaccess({ appRoot: '/home/ann/app', baseUri: '/v1', node: '/n/bin/node' });
    assert.equal(readFileSync(out, 'utf8'), `${above}${newBlock.slice(newBlock.indexOf('# DO NOT REMOVE.'))}${below}`);
    assert.equal(statSync(out).mode & 0o777, 0o640, 'the file keeps its mode');
    // Again with the same values: nothing changes.
    const again = runCli(...args);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /\[htaccess\] unchanged /);

    // A file without the block keeps all it has; the block goes after it.
    const plain = path.join(dir, 'existing', 'plain.htaccess');
    writeFileSync(plain, 'Options -Indexes');
    assert.equal(runCli(...args.slice(0, -1), plain).status, 0);
    assert.equal(
      readFileSync(plain, 'utf8'),
      `Options -Indexes\n\n${newBlock.slice(newBlock.indexOf('# DO NOT REMOVE.'))}`,
    );

    // A BEGIN line without its END: nothing is written, the error says so.
    const broken = path.join(dir, 'existing', 'broken.htaccess');
    const text = 'Options -Indexes\n# DO NOT REMOVE. CLOUDLINUX PASSENGER CONFIGURATION BEGIN\nPassengerAppRoot "/x"\n';
    writeFileSync(broken, text);
    const refused = runCli(...args.slice(0, -1), broken);
    assert.equal(refused.status, 2);
    assert.match(
      refused.stderr,
      /broken\.htaccess: the file has "# DO NOT REMOVE\. CLOUDLINUX PASSENGER CONFIGURATION BEGIN" \(line 2\) but no .*END" after it/,
    );
    assert.equal(readFileSync(broken, 'utf8'), text);
  });

  it('prints to stdout, with the package folder as the default app root', () => {
    const result = runCli('htaccess', '--base-uri', '/', '--node', '/usr/bin/node');
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^PassengerAppRoot "${REPO_ROOT}"$`, 'm'));
    assert.match(result.stdout, /^PassengerBaseURI "\/"$/m);
  });

  it('refuses missing or unusable values with exit 2 and says which', () => {
    const cases: [string[], RegExp][] = [
      [['htaccess', '--node', '/usr/bin/node'], /--base-uri is required/],
      [['htaccess', '--base-uri', '/api'], /--node is required/],
      [['htaccess', '--base-uri', 'api', '--node', '/n'], /--base-uri must be a URL path/],
      [['htaccess', '--base-uri', '/a b', '--node', '/n'], /--base-uri must be non-empty, without spaces/],
      [['htaccess', '--base-uri', '/api', '--node', '/n', '--bogus'], /Unknown option '--bogus'/],
      [['deploy'], /unknown command "deploy"/],
    ];
    for (const [args, message] of cases) {
      const result = runCli(...args);
      assert.equal(result.status, 2, args.join(' '));
      assert.match(result.stderr, message, args.join(' '));
    }
  });
});

describe('the block read as a real .htaccess by stock Apache', () => {
  it('answers 500 and logs "PassengerAppRoot not allowed here"', async (t) => {
    if (!requireApache(t)) return;
    const apache = await startApache({ appRoot: REPO_ROOT, baseUri: '/api', htaccessAs: 'htaccess', healthPath: null });
    try {
      const reply = await send({ host: '127.0.0.1', port: apache.port }, { path: '/api/health' });
      assert.equal(reply.status, 500);
      assert.match(apache.readErrorLog(), /\.htaccess: PassengerAppRoot not allowed here/);
      assert.deepEqual(apache.appPids(), [], 'no app was started');
    } finally {
      await apache.stop('stop');
    }
  });
});

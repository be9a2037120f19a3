// The VPS settings as src/config.ts reads them: socket activation (sd_listen_fds(3)'s rules),
// HANDOFF_DRAIN_DELAY_MS, HANDOFF_TRUST_PROXY; and the request log's client from forwarded
// headers, which native/src/serve/log.rs computes the same way (its unit test has the same cases).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forwardedClient } from '../../src/backends/node-server';
import { ConfigError, loadConfig } from '../../src/config';

const PID = 4242;
const load = (env: Record<string, string>) => loadConfig(env, PID);

describe('socket activation variables', () => {
  it('are used only when LISTEN_PID is this process', () => {
    assert.equal(load({}).activation, undefined);
    assert.equal(load({ LISTEN_FDS: '1', LISTEN_PID: '1' }).activation, undefined);
    assert.equal(load({ LISTEN_FDS: '1' }).activation, undefined);
    assert.deepEqual(load({ LISTEN_FDS: '1', LISTEN_PID: String(PID) }).activation, {
      fd: 3,
      name: 'unknown',
      count: 1,
    });
  });

  it('pick the socket named http among several; a lone one whatever its name', () => {
    const env = { LISTEN_FDS: '3', LISTEN_PID: String(PID), LISTEN_FDNAMES: 'metrics:scgi:http' };
    assert.deepEqual(load(env).activation, { fd: 5, name: 'http', count: 3, protocol: 'http' });
    assert.equal(load(env).protocol, 'http');
    const scgi = { ...env, HANDOFF_PROTOCOL: 'scgi' };
    assert.deepEqual(load(scgi).activation, { fd: 4, name: 'scgi', count: 3, protocol: 'scgi' });
    assert.equal(load(scgi).protocol, 'scgi');
    const onlyScgi = { ...env, LISTEN_FDNAMES: 'metrics:scgi:other' };
    assert.deepEqual(load(onlyScgi).activation, { fd: 4, name: 'scgi', count: 3, protocol: 'scgi' });
    assert.equal(load(onlyScgi).protocol, 'scgi');
    const lone = { LISTEN_FDS: '1', LISTEN_PID: String(PID), LISTEN_FDNAMES: 'passenger-handoff.socket' };
    assert.deepEqual(load(lone).activation, { fd: 3, name: 'passenger-handoff.socket', count: 1 });
    assert.equal(load(lone).protocol, 'http');
    assert.equal(load({ ...lone, HANDOFF_PROTOCOL: 'scgi' }).protocol, 'scgi');
  });

  it('serve a lone socket named scgi as SCGI, one named http as HTTP', () => {
    const lone = (name: string, protocol?: string) =>
      load({
        LISTEN_FDS: '1',
        LISTEN_PID: String(PID),
        LISTEN_FDNAMES: name,
        ...(protocol === undefined ? {} : { HANDOFF_PROTOCOL: protocol }),
      });
    assert.equal(lone('scgi').protocol, 'scgi');
    assert.equal(lone('scgi', 'scgi').protocol, 'scgi');
    assert.equal(lone('http').protocol, 'http');
    assert.equal(lone('http', 'http').protocol, 'http');
  });

  it('refuse scgi, ambiguity and malformed values with the variable named', () => {
    const refuse = (env: Record<string, string>, pattern: RegExp) =>
      assert.throws(
        () => load({ LISTEN_PID: String(PID), ...env }),
        (error: Error) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, pattern);
          return true;
        },
      );
    refuse({ LISTEN_FDS: '1', LISTEN_FDNAMES: 'scgi', HANDOFF_PROTOCOL: 'http' }, /but HANDOFF_PROTOCOL=http/);
    refuse({ LISTEN_FDS: '1', LISTEN_FDNAMES: 'http', HANDOFF_PROTOCOL: 'scgi' }, /but HANDOFF_PROTOCOL=scgi/);
    refuse({ LISTEN_FDS: '2', LISTEN_FDNAMES: 'http:other', HANDOFF_PROTOCOL: 'scgi' }, /has none named scgi \(/);
    refuse({ LISTEN_FDS: '2', LISTEN_FDNAMES: 'a:b' }, /none named http or scgi/);
    refuse({ LISTEN_FDS: '2', LISTEN_FDNAMES: 'http' }, /^LISTEN_FDNAMES must name each/);
    refuse({ LISTEN_FDS: 'two' }, /^LISTEN_FDS must be a whole number/);
    refuse({ LISTEN_FDS: '0' }, /^LISTEN_FDS must be a whole number from 1/);
  });
});

describe('HANDOFF_DRAIN_DELAY_MS and HANDOFF_TRUST_PROXY', () => {
  it('default to 0 and off', () => {
    const config = load({});
    assert.equal(config.drainDelayMs, 0);
    assert.deepEqual(config.trustProxy, { all: false, unix: false, addresses: [] });
  });

  it('read on, off and address lists; refuse anything else', () => {
    assert.equal(load({ HANDOFF_DRAIN_DELAY_MS: '5000' }).drainDelayMs, 5000);
    assert.throws(() => load({ HANDOFF_DRAIN_DELAY_MS: '-1' }), ConfigError);
    assert.deepEqual(load({ HANDOFF_TRUST_PROXY: 'on' }).trustProxy, { all: true, unix: true, addresses: [] });
    assert.deepEqual(load({ HANDOFF_TRUST_PROXY: '0' }).trustProxy.all, false);
    assert.deepEqual(load({ HANDOFF_TRUST_PROXY: 'unix, 10.0.0.1,::ffff:10.0.0.2,2001:DB8::1' }).trustProxy, {
      all: false,
      unix: true,
      addresses: ['10.0.0.1', '10.0.0.2', '2001:db8::1'],
    });
    assert.throws(() => load({ HANDOFF_TRUST_PROXY: 'yes' }), /HANDOFF_TRUST_PROXY must be off, on, or a comma list/);
    assert.throws(() => load({ HANDOFF_TRUST_PROXY: '10.0.0.0/8' }), ConfigError);
  });
});

describe('the request log client from forwarded headers', () => {
  const headers = {
    'x-forwarded-for': '198.51.100.1, 203.0.113.7, 10.0.0.2',
    'x-forwarded-proto': 'HTTPS, http',
  };
  const trust = (value: string) => load({ HANDOFF_TRUST_PROXY: value }).trustProxy;

  it('is the peer unless the peer is trusted', () => {
    assert.equal(forwardedClient('10.0.0.1', headers, trust('off')), '10.0.0.1');
    assert.equal(forwardedClient(undefined, headers, trust('off')), '-');
    assert.equal(forwardedClient(undefined, headers, trust('10.0.0.1')), '-');
  });

  it('reads X-Forwarded-For from the right, skipping trusted proxies', () => {
    assert.equal(forwardedClient('10.0.0.1', headers, trust('10.0.0.1,10.0.0.2')), '203.0.113.7/https');
    assert.equal(forwardedClient('::ffff:10.0.0.1', headers, trust('10.0.0.1,10.0.0.2')), '203.0.113.7/https');
    assert.equal(forwardedClient(undefined, headers, trust('unix')), '10.0.0.2/https');
    assert.equal(forwardedClient('10.0.0.1', headers, trust('on')), '198.51.100.1/https');
    assert.equal(
      forwardedClient('10.0.0.1', { 'x-forwarded-for': '1.2.3.4, not-an-ip' }, trust('10.0.0.1')),
      '10.0.0.1',
    );
    assert.equal(forwardedClient('10.0.0.1', { 'x-forwarded-proto': 'a b' }, trust('on')), '10.0.0.1');
  });
});

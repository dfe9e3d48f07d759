/**
 * The human units of lb.yaml (durations, sizes, percentages) and listen
 * addresses: what is accepted, what it means, and that everything lenient
 * parsers such as `ms` let through ("-5s", "1m30s", "5 sec", "10S") is refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatListen, parseCidr, parseListen } from '../../src/config/address.js';
import {
  DURATION_PATTERN, parseDuration, parsePercent, parseSize,
} from '../../src/config/units.js';

describe('parseDuration', () => {
  const ok: [string | number, number][] = [
    ['10ms', 10], ['2s', 2_000], ['1.5s', 1_500], ['1m', 60_000], ['1h', 3_600_000], ['0s', 0], [250, 250], [0, 0],
  ];
  for (const [input, ms] of ok) {
    it(`${JSON.stringify(input)} → ${ms} ms`, () => assert.equal(parseDuration(input), ms));
  }

  const bad: (string | number)[] = ['-5s', '1m30s', '5 sec', '10S', '', 1.5, -1, '100', '.5s', '1.s', '2d', ' 1s'];
  for (const input of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => assert.equal(parseDuration(input), undefined));
  }

  it('DURATION_PATTERN agrees with the parser on strings (it is also the JSON Schema pattern)', () => {
    const re = new RegExp(DURATION_PATTERN);
    for (const [input] of ok) if (typeof input === 'string') assert.ok(re.test(input), input);
    for (const input of bad) if (typeof input === 'string') assert.ok(!re.test(input), input);
  });

});

describe('parseSize', () => {
  it('reads binary units; KB/MB/GB mean KiB/MiB/GiB', () => {
    assert.equal(parseSize('64KiB'), 65_536);
    assert.equal(parseSize('1MiB'), 1_048_576);
    assert.equal(parseSize('1GiB'), 1_073_741_824);
    assert.equal(parseSize('1KB'), 1_024);
    assert.equal(parseSize('10B'), 10);
    assert.equal(parseSize('1.5KiB'), 1_536);
    assert.equal(parseSize(4_096), 4_096);
  });

  for (const input of ['1kb', '-1B', '', '1 MiB', '1TiB', 1.5, -1]) {
    it(`rejects ${JSON.stringify(input)}`, () => assert.equal(parseSize(input), undefined));
  }
});

describe('parsePercent', () => {
  it('turns "20%" or a number 0..100 into a fraction', () => {
    assert.equal(parsePercent('20%'), 0.2);
    assert.equal(parsePercent('0%'), 0);
    assert.equal(parsePercent('100%'), 1);
    assert.equal(parsePercent('12.5%'), 0.125);
    assert.equal(parsePercent(50), 0.5);
  });

  for (const input of ['100.5%', '-5%', '20', '', 101, -1]) {
    it(`rejects ${JSON.stringify(input)}`, () => assert.equal(parsePercent(input), undefined));
  }
});

describe('parseListen', () => {
  it('reads host:port, [v6]:port and a bare port (all interfaces)', () => {
    assert.deepEqual(parseListen('127.0.0.1:3030'), { host: '127.0.0.1', port: 3030 });
    assert.deepEqual(parseListen('[::1]:3030'), { host: '::1', port: 3030 });
    assert.deepEqual(parseListen('localhost:80'), { host: 'localhost', port: 80 });
    assert.deepEqual(parseListen('0.0.0.0:0'), { host: '0.0.0.0', port: 0 });
    assert.deepEqual(parseListen('3030'), { host: undefined, port: 3030 });
    assert.deepEqual(parseListen(3030), { host: undefined, port: 3030 });
  });

  it('explains what is wrong', () => {
    assert.equal(parseListen('host:65536'), 'port must be 0..65535, got 65536');
    assert.equal(parseListen(-1), 'port must be 0..65535, got -1');
    assert.equal(parseListen(1.5), 'port must be 0..65535, got 1.5');
    for (const input of ['', 'a:b', '[::1]', '::1:80', ' 80']) {
      assert.match(parseListen(input) as string, /^expected "host:port" or a port number/, input);
    }
  });

  it('formatListen', () => {
    assert.equal(formatListen({ host: '::1', port: 80 }), '[::1]:80');
    assert.equal(formatListen({ host: '127.0.0.1', port: 3030 }), '127.0.0.1:3030');
    assert.equal(formatListen({ host: undefined, port: 80 }), ':80');
  });
});

describe('parseCidr', () => {
  it('accepts IPv4 and IPv6 addresses and CIDRs', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    assert.deepEqual(parseCidr('192.168.1.7'), { address: '192.168.1.7', prefix: 32, family: 'ipv4' });
    assert.deepEqual(parseCidr('fd00::/8'), { address: 'fd00::', prefix: 8, family: 'ipv6' });
    assert.deepEqual(parseCidr('::1'), { address: '::1', prefix: 128, family: 'ipv6' });
  });
  it('rejects bad addresses and prefixes with a message', () => {
    for (const bad of ['10.0.0.0/40', '999.1.1.1/8', '1.2.3', 'fd00::/129', 'zz::1', '10.0.0.0/8/8', '', 'localhost']) {
      assert.equal(typeof parseCidr(bad), 'string', bad);
    }
  });
});

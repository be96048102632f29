import argon2 from 'argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPasswordHasher } from '../server/accounts/passwordHasher.js';
import { addressKey } from '../server/throttle/addressKey.js';
import { type RawResponse, request, sessionCookie } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';

/**
 * SECURITY.md A3, attack 31: "an attacker can slow an account down, never
 * lock its owner out for good". One address hammers an account; the owner
 * signs in from a browser that signed in before (a marker bound to that
 * account, never a credential); refused attempts spend the hammering
 * address's own refusal budget. Addresses come from the trusted proxy's
 * X-Forwarded-For; the clock moves, nothing sleeps.
 */
const PASSWORD = 'correct horse battery';
const ATTACKER = '203.0.113.7';
const OWNER = '198.51.100.9';
const OFFICE = '192.0.2.50';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({
    env: { TRUST_PROXY: '1', LOGIN_MAX_FAILURES_PER_ACCOUNT: '5', LOGIN_MAX_FAILURES_PER_ADDRESS: '20', REGISTER_MAX_PER_ADDRESS: '3', LOGIN_THROTTLE_WINDOW: '15m' },
    deps: { hasher: await createPasswordHasher({ type: argon2.argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1 } as never) },
  });
});
afterAll(() => srv.close());

let users = 0;
const fresh = async (prefix: string) => {
  users += 1;
  const username = `${prefix}-${users}`;
  const res = await request(`${srv.url}/trpc/auth.register`, { body: { username, password: PASSWORD }, headers: { 'x-forwarded-for': `10.9.${users}.1` } });
  expect(res.status).toBe(200);
  return username;
};
/** The `Cookie` header for what a browser keeps of an answer: the session and the known-browser marker. */
const jarOf = (res: RawResponse) => res.setCookies.map((line) => line.split(';')[0]!).filter((pair) => !pair.endsWith('=')).join('; ');
const login = (username: string, password: string, from: string, cookie?: string) =>
  request(`${srv.url}/trpc/auth.login`, { body: { username, password }, headers: { 'x-forwarded-for': from }, ...(cookie ? { cookie } : {}) });

describe('one address hammering an account', () => {
  it('does not lock its owner out: from a browser that signed in before, the right password gets through 20 of 20 times in 20 seconds of 50 wrong guesses a second', async () => {
    const username = await fresh('owner');
    // The owner's browser signs in once: it keeps the session and the marker.
    const known = jarOf(await login(username, PASSWORD, OWNER));
    // Five wrong guesses block the account: without the marker, the owner's right password is refused.
    for (let i = 0; i < 5; i += 1) expect((await login(username, 'a wrong guess!', ATTACKER)).status).toBe(401);
    expect((await login(username, PASSWORD, OWNER)).status).toBe(429);
    let ownerIn = 0;
    for (let second = 0; second < 20; second += 1) {
      for (let burst = 0; burst < 10; burst += 1) {
        const guesses = await Promise.all(Array.from({ length: 5 }, () => login(username, 'a wrong guess!', ATTACKER)));
        for (const guess of guesses) expect([401, 429]).toContain(guess.status);
        srv.clock.advance(100);
      }
      if ((await login(username, PASSWORD, OWNER, known)).status === 200) ownerIn += 1;
    }
    expect(ownerIn).toBe(20);
    srv.clock.advance(15 * 60_000);
  });

  it('a refused attempt spends the address’s own refusal budget (ten times its limit): once spent, that address is refused every login, its own account’s too, while the owner’s block runs out and is not started again', async () => {
    const victim = await fresh('victim');
    const attackersOwn = await fresh('attacker');
    const attacker = '203.0.113.8';
    for (let i = 0; i < 5; i += 1) expect((await login(victim, 'a wrong guess!', attacker)).status).toBe(401);
    // The account is blocked for a minute; every further guess is refused and costs the address one unit of 200.
    for (let i = 0; i < 200; i += 1) expect((await login(victim, 'a wrong guess!', attacker)).status).toBe(429);
    const own = await login(attackersOwn, PASSWORD, attacker);
    expect(own.status).toBe(429);
    // The address is refused for the rest of its window (15 minutes from its first refusal), not just the account's minute.
    expect(Number(own.headers.get('retry-after'))).toBeGreaterThan(60);
    srv.clock.advance(61_000);
    // The account's block has ended; the address's first guesses after it are refused and start no new block.
    for (let i = 0; i < 10; i += 1) expect((await login(victim, 'a wrong guess!', attacker)).status).toBe(429);
    expect((await login(victim, PASSWORD, OWNER)).status).toBe(200);
    srv.clock.advance(15 * 60_000);
  });

  it('an office behind one address is not blocked by one colleague’s locked account: refused attempts do not use up the address’s allowance of failures', async () => {
    const locked = await fresh('locked');
    const colleague = await fresh('colleague');
    for (let i = 0; i < 5; i += 1) expect((await login(locked, 'a wrong guess!', OFFICE)).status).toBe(401);
    for (let i = 0; i < 30; i += 1) expect((await login(locked, PASSWORD, OFFICE)).status).toBe(429);
    expect((await login(colleague, PASSWORD, OFFICE)).status).toBe(200);
    srv.clock.advance(15 * 60_000);
  });
});

describe('the known-browser marker is a hint, never a credential', () => {
  it('a marker earned for one account says nothing about another: an attacker signed in to their own account gets no way past a blocked victim’s', async () => {
    const victim = await fresh('marked-victim');
    const attackersOwn = await fresh('marked-attacker');
    const attackerJar = jarOf(await login(attackersOwn, PASSWORD, '203.0.113.20'));
    for (let i = 0; i < 5; i += 1) await login(victim, 'a wrong guess!', '203.0.113.20', attackerJar);
    expect((await login(victim, PASSWORD, '203.0.113.21', attackerJar)).status).toBe(429);
    srv.clock.advance(15 * 60_000);
  });

  it('a known browser’s own wrong passwords are limited too: after five it is refused, and then the account’s own limit applies', async () => {
    const username = await fresh('careless');
    const known = jarOf(await login(username, PASSWORD, '198.51.100.30'));
    for (let i = 0; i < 5; i += 1) expect((await login(username, 'a wrong guess!', '198.51.100.30', known)).status).toBe(401);
    expect((await login(username, PASSWORD, '198.51.100.30', known)).status).toBe(429);
    srv.clock.advance(15 * 60_000);
  });

  it('a tampered marker is no marker', async () => {
    const username = await fresh('tamper');
    const known = jarOf(await login(username, PASSWORD, '198.51.100.40'));
    for (let i = 0; i < 5; i += 1) await login(username, 'a wrong guess!', '203.0.113.40');
    const tampered = known.replace(/sid-device=([^;.]+)\.([\w-])/, (_all, nonce: string, first: string) => `sid-device=${nonce}.${first === 'A' ? 'B' : 'A'}`);
    expect(tampered).not.toBe(known);
    expect((await login(username, PASSWORD, '198.51.100.40', tampered)).status).toBe(429);
    expect((await login(username, PASSWORD, '198.51.100.40', known)).status).toBe(200);
    srv.clock.advance(15 * 60_000);
  });
});

describe('a stolen cookie’s failed re-authentications', () => {
  it('block that session only: the owner still signs in elsewhere, re-authenticates and changes the password from another session', async () => {
    const username = await fresh('stolen');
    const thief = sessionCookie(await login(username, PASSWORD, '198.51.100.50'));
    for (let i = 0; i < 5; i += 1) {
      expect((await request(`${srv.url}/trpc/auth.reauthenticate`, { cookie: thief, body: { password: `guess ${i}` }, headers: { 'x-forwarded-for': '203.0.113.50' } })).status).toBe(403);
    }
    expect((await request(`${srv.url}/trpc/auth.reauthenticate`, { cookie: thief, body: { password: PASSWORD }, headers: { 'x-forwarded-for': '203.0.113.50' } })).status).toBe(429);
    srv.clock.advance(1_000);
    const owner = await login(username, PASSWORD, OWNER);
    expect(owner.status).toBe(200);
    const reauthenticated = await request(`${srv.url}/trpc/auth.reauthenticate`, { cookie: sessionCookie(owner), body: { password: PASSWORD }, headers: { 'x-forwarded-for': OWNER } });
    expect(reauthenticated.status).toBe(200);
    const changed = await request(`${srv.url}/trpc/auth.changePassword`, {
      cookie: sessionCookie(reauthenticated),
      body: { currentPassword: PASSWORD, newPassword: 'the owner’s new password' },
      headers: { 'x-forwarded-for': OWNER },
    });
    expect(changed.status).toBe(200);
    // …which ends the thief's session.
    expect((await request(`${srv.url}/trpc/data`, { cookie: thief })).status).toBe(401);
    srv.clock.advance(15 * 60_000);
  });
});

describe('IPv6 addresses are counted by their /64', () => {
  it('registrations from four addresses of one /64 share its limit of 3; another /64 has its own', async () => {
    const from = (address: string, name: string) => request(`${srv.url}/trpc/auth.register`, { body: { username: name, password: PASSWORD }, headers: { 'x-forwarded-for': address } });
    expect((await from('2001:db8:1:2::1', 'six-a')).status).toBe(200);
    expect((await from('2001:db8:1:2::2', 'six-b')).status).toBe(200);
    expect((await from('2001:db8:1:2:ffff:1:2:3', 'six-c')).status).toBe(200);
    expect((await from('2001:0db8:0001:0002::9', 'six-d')).status).toBe(429);
    expect((await from('2001:db8:1:3::1', 'six-e')).status).toBe(200);
    srv.clock.advance(15 * 60_000);
  });

  it('addressKey: an IPv6 address by its /64 however it is written, an IPv4(-mapped) address as it is', () => {
    expect(addressKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:0000:0000:0000:0001')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:DB8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1')).toBe('fe80:0:0:0::/64');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
  });
});

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, haveChromium } from './helpers/chromium.js';
import { captureLogs } from './helpers/logCapture.js';
import { request } from './helpers/http.js';
import { startServer, type TestServer } from './helpers/server.js';
import { type SwitchableStore, switchableStore } from './helpers/switchableStore.js';

// The cookie and CSRF promises where they matter: Debian's Chromium driven by playwright-core (never a downloaded browser).
const ARGS = CHROMIUM_ARGS;
const RESULTS = join(process.cwd(), 'test-results');
const password = 'correct horse battery';

const chromiumHere = haveChromium('test/browser.test.ts');

let srv: TestServer;
let evil: Server;
let evilUrl: string;
let context: BrowserContext;
let profile: string;
const logs = captureLogs('info');
let outage: SwitchableStore;

/** The attacker's pages, served from http://localhost:<port>: another site than http://127.0.0.1:<port>. */
function attackerPages(target: string): Server {
  const logout = `${target}/trpc/auth.logout`;
  const pages: Record<string, string> = {
    '/form': `<!doctype html><title>win a prize</title>
      <form id="f" method="POST" action="${logout}" enctype="multipart/form-data"><input name="x" value="y"></form>
      <script>document.getElementById('f').submit()</script>`,
    '/fetch': `<!doctype html><title>win a prize</title><script>
      window.results = (async () => {
        const out = {};
        try {
          const res = await fetch(${JSON.stringify(logout)}, { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: '{}' });
          out.json = 'answered ' + res.status;
        } catch (error) { out.json = 'blocked: ' + error.name; }
        try {
          const res = await fetch(${JSON.stringify(logout)}, { method: 'POST', credentials: 'include', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{}' });
          out.simple = 'sent, opaque=' + (res.type === 'opaque');
        } catch (error) { out.simple = 'blocked: ' + error.name; }
        return out;
      })();
    </script>`,
  };
  return createServer((req, res) => {
    const page = pages[req.url ?? ''];
    res.writeHead(page ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page ?? 'not found');
  });
}

async function signIn(page: Page, username: string, pass = password) {
  // One browser profile for all tests: start each signed out.
  await context.clearCookies();
  await page.goto(`${srv.url}/`);
  await page.locator('#auth-form').waitFor();
  await page.fill('#username', username);
  await page.fill('#password', pass);
  await page.click('#login');
}

async function sessionCookieValue(): Promise<string | undefined> {
  return (await context.cookies(srv.url)).find((c) => c.name === 'sid')?.value;
}

describe.skipIf(!chromiumHere)('the demo page in Chromium', () => {
  beforeAll(async () => {
    execFileSync('npm', ['run', '--silent', 'build:web'], { stdio: 'inherit' });
    outage = await switchableStore();
    srv = await startServer({
      env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '3' },
      deps: { logger: logs.logger, store: outage.store },
    });
    evil = attackerPages(srv.url);
    evil.listen(0, '127.0.0.1');
    await once(evil, 'listening');
    evilUrl = `http://localhost:${(evil.address() as AddressInfo).port}`;
    profile = mkdtempSync(join(tmpdir(), 'gatehouse-chromium-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
    mkdirSync(RESULTS, { recursive: true });
    for (const username of ['browser-user', 'browser-csrf', 'browser-out', 'browser-throttle', 'browser-outage', 'browser-fresh']) {
      expect((await request(`${srv.url}/trpc/auth.register`, { body: { username, password } })).status).toBe(200);
    }
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    evil?.close();
    await srv?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('signing in through the page works; document.cookie shows no session cookie (HttpOnly), data answers, and a screenshot is saved', async () => {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await signIn(page, 'browser-user');
    await expect.poll(() => page.locator('#signed-in-as').textContent()).toBe('browser-user');
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(await page.locator('#page-cookies').textContent()).toBe('(empty)');
    const cookie = (await context.cookies(srv.url)).find((c) => c.name === 'sid');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/', secure: false });

    await page.click('#load-data');
    await expect.poll(() => page.locator('#data-output').textContent()).toBe('Hello, browser-user. This answer needed a live session.');
    // Two sessions: the registration over HTTP in beforeAll, and this browser's, marked as such.
    await expect.poll(() => page.locator('#sessions li').count()).toBe(2);
    expect(await page.locator('#sessions .badge').allTextContents()).toEqual(['This browser']);

    // The page works under the strict CSP: no violation, no script error.
    expect(problems).toEqual([]);
    const shot = join(RESULTS, 'demo-signed-in.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(5_000);
    await page.close();
  }, 60_000);

  it('a page on another site (localhost vs 127.0.0.1) cannot log the user out: its form POST gets 403, its credentialed fetch is blocked, and the session survives', async () => {
    const page = await context.newPage();
    await signIn(page, 'browser-csrf');
    await expect.poll(() => page.locator('#signed-in-as').textContent()).toBe('browser-csrf');
    const before = await sessionCookieValue();
    expect(before).toBeTruthy();
    const refusedBefore = logs.entries().filter((e) => e.event === 'csrf.refused').length;

    const attacker = await context.newPage();
    const formAnswer = attacker.waitForResponse((res) => res.url() === `${srv.url}/trpc/auth.logout`);
    await attacker.goto(`${evilUrl}/form`);
    const answered = await formAnswer;
    expect(answered.status()).toBe(403);
    expect(answered.request().headers()['content-type']).toMatch(/^multipart\/form-data/);

    await attacker.goto(`${evilUrl}/fetch`);
    const results = await attacker.evaluate(() => (window as unknown as { results: Promise<Record<string, string>> }).results);
    // The JSON fetch needs a CORS preflight, which gets no Access-Control-Allow-Origin: the browser never sends it.
    expect(results.json).toBe('blocked: TypeError');
    // The simple no-cors request is sent: the server refuses it (counted in the log below), and
    // Cross-Origin-Resource-Policy: same-origin keeps even the opaque answer from the page.
    expect(results.simple).toBe('blocked: TypeError');

    await expect.poll(() => logs.entries().filter((e) => e.event === 'csrf.refused').length).toBe(refusedBefore + 2);
    expect(await sessionCookieValue()).toBe(before);
    await page.click('#load-data');
    await expect.poll(() => page.locator('#data-output').textContent()).toBe('Hello, browser-csrf. This answer needed a live session.');
    await attacker.close();
    await page.close();
  }, 60_000);

  it('signing out in the page clears the cookie, data then fails with 401, and the old cookie replayed is refused', async () => {
    const page = await context.newPage();
    await signIn(page, 'browser-out');
    await expect.poll(() => page.locator('#signed-in-as').textContent()).toBe('browser-out');
    const old = await sessionCookieValue();
    expect(old).toBeTruthy();

    await page.click('#logout');
    await page.locator('#auth-form').waitFor();
    expect(await page.locator('#notice').textContent()).toBe('Signed out. The server ended the session and cleared the cookie.');
    expect(await sessionCookieValue()).toBeUndefined();
    const status = await page.evaluate(async () => (await fetch('/trpc/data')).status);
    expect(status).toBe(401);
    expect((await request(`${srv.url}/trpc/data`, { cookie: `sid=${old}` })).status).toBe(401);
    await page.close();
  }, 60_000);

  it('the page explains bad input next to the field, a wrong password, and throttling with the wait in seconds', async () => {
    const page = await context.newPage();
    await signIn(page, 'ab', 'short');
    await expect.poll(() => page.locator('[data-error-for="username"]').textContent()).toBe('username must be at least 3 characters');
    expect(await page.locator('[data-error-for="password"]').textContent()).toBe('password must be at least 8 characters');
    expect(await page.locator('#username').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#notice').textContent()).toBe('Please fix the highlighted fields.');

    for (let i = 0; i < 3; i++) {
      await page.fill('#username', 'browser-throttle');
      await page.fill('#password', `wrong password ${i}`);
      await page.click('#login');
      await expect.poll(() => page.locator('#notice').textContent()).toBe('Wrong username or password.');
      await page.evaluate(() => (document.getElementById('notice')!.textContent = ''));
    }
    await page.fill('#password', password);
    await page.click('#login');
    await expect.poll(() => page.locator('#notice').textContent()).toBe('Too many attempts. Try again in 1 minute (60 seconds).');
    await page.screenshot({ path: join(RESULTS, 'demo-throttled.png') });
    await page.close();
  }, 60_000);

  it('when the store is unavailable the page says so, and once it is back the same session works again', async () => {
    const page = await context.newPage();
    await signIn(page, 'browser-outage');
    await expect.poll(() => page.locator('#signed-in-as').textContent()).toBe('browser-outage');
    outage.down = true;
    try {
      await page.click('#load-data');
      await expect
        .poll(() => page.locator('#notice').textContent())
        .toBe('The session store is unavailable right now. Nothing was changed; try again in a moment.');
      expect(await page.locator('#data-output').textContent()).toBe('');
    } finally {
      outage.down = false;
    }
    await page.click('#load-data');
    await expect.poll(() => page.locator('#data-output').textContent()).toBe('Hello, browser-outage. This answer needed a live session.');
    await page.close();
  }, 60_000);

  it('an account created in the page is signed in; it can revoke another session, change its password, and sign in with the new one', async () => {
    const page = await context.newPage();
    await context.clearCookies();
    await page.goto(`${srv.url}/`);
    await page.locator('#auth-form').waitFor();
    await page.fill('#username', 'browser-new');
    await page.fill('#password', password);
    await page.click('#register');
    await expect.poll(() => page.locator('#signed-in-as').textContent()).toBe('browser-new');
    expect(await page.locator('#notice').textContent()).toBe('Account created. Signed in as browser-new.');

    // A second session of the same user, from elsewhere.
    const elsewhere = await request(`${srv.url}/trpc/auth.login`, { body: { username: 'browser-new', password } });
    const otherCookie = elsewhere.setCookies[0]!.split(';')[0]!;
    await page.reload();
    await expect.poll(() => page.locator('#sessions li').count()).toBe(2);
    await page.click('#sessions button[data-revoke]');
    await expect.poll(() => page.locator('#sessions li').count()).toBe(1);
    expect(await page.locator('#notice').textContent()).toBe('That session was ended.');
    expect((await request(`${srv.url}/trpc/data`, { cookie: otherCookie })).status).toBe(401);

    const newPassword = 'a brand new passphrase';
    await page.fill('#current-password', password);
    await page.fill('#new-password', newPassword);
    await page.click('#change-password');
    await expect.poll(() => page.locator('#notice').textContent()).toBe('Password changed. 0 other sessions were signed out.');
    await page.click('#logout');
    await page.locator('#auth-form').waitFor();
    await signIn(page, 'browser-new', newPassword);
    await expect.poll(() => page.locator('#signed-in-as').textContent()).toBe('browser-new');
    await page.close();
  }, 60_000);

  it('a sensitive action on a sign-in older than 10 minutes asks for the password in the page: a wrong one is said there, the right one re-authenticates and the action goes through', async () => {
    const page = await context.newPage();
    await signIn(page, 'browser-fresh');
    await expect.poll(() => page.locator('#signed-in-as').textContent()).toBe('browser-fresh');
    const before = await sessionCookieValue();
    // The server's clock moves past the fresh-login window (the idle timeout is 30 minutes: the session lives on).
    srv.clock.advance(11 * 60_000);

    const newPassword = 'a fresher passphrase';
    await page.fill('#current-password', password);
    await page.fill('#new-password', newPassword);
    await page.click('#change-password');
    await page.locator('#confirm-password').waitFor();
    await page.fill('#confirm-password-input', 'not my password');
    await page.click('#confirm-password-submit');
    await expect.poll(() => page.locator('#confirm-password-error').textContent()).toBe('That password is wrong.');
    await page.screenshot({ path: join(RESULTS, 'demo-confirm-password.png') });

    await page.fill('#confirm-password-input', password);
    await page.click('#confirm-password-submit');
    // The registration over HTTP in beforeAll left one other session.
    await expect.poll(() => page.locator('#notice').textContent()).toBe('Password changed. 1 other session was signed out.');
    expect(await page.locator('#confirm-password').count()).toBe(0);
    // Re-authentication and the change each gave the session a new id; the old cookie is dead.
    expect(await sessionCookieValue()).not.toBe(before);
    expect((await request(`${srv.url}/trpc/data`, { cookie: `sid=${before}` })).status).toBe(401);
    await page.click('#load-data');
    await expect.poll(() => page.locator('#data-output').textContent()).toBe('Hello, browser-fresh. This answer needed a live session.');

    // Cancelling the confirmation changes nothing.
    srv.clock.advance(11 * 60_000);
    await page.click('#revoke-others');
    await page.locator('#confirm-password').waitFor();
    await page.click('#confirm-password-cancel');
    await expect.poll(() => page.locator('#notice').textContent()).toBe('Nothing was changed.');
    await page.close();
  }, 60_000);
});

import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionView } from '../client/index.js';
import type { SessionEvent } from '../server/index.js';
import { CHROMIUM, CHROMIUM_ARGS, haveChromium } from './helpers/chromium.js';
import { startServer, type TestServer } from './helpers/server.js';

// Issue 20 §4 in the demo page, in Chromium, on the reference server as it ships (SESSION_BEARER and
// SESSION_STAY_SIGNED_IN at their defaults) over real HTTP: the "stay signed in" checkbox, device labels beside
// the raw user agent (which is attacker-controlled, so shown as text), and forgetting a remembered device.
const chromiumHere = haveChromium('test/demoDevicesBrowser.test.ts');
const password = 'correct horse battery';
const MINUTE = 60_000;
const CHROME_ON_LINUX = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const HOSTILE = `<img src=x onerror="document.body.dataset.pwned='yes'">`;
const RESULTS = join(process.cwd(), 'test-results');
const REMEMBERED = 'This device stays signed in until you sign out or forget it.';

let srv: TestServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
const events: SessionEvent[] = [];

async function demo(userAgent?: string): Promise<Page> {
  const context = await browser.newContext(userAgent ? { userAgent } : {});
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${srv.url}/`);
  return page;
}

async function signIn(page: Page, username: string, stay: boolean, button: '#login' | '#register' = '#login'): Promise<void> {
  await page.locator('#auth-form').waitFor();
  await page.fill('#username', username);
  await page.fill('#password', password);
  if (stay) await page.check('#stay-signed-in');
  if (button === '#register') await page.screenshot({ path: join(RESULTS, 'demo-stay-signed-in.png') });
  await page.click(button);
  await expect.poll(() => page.locator('#signed-in-as').textContent()).toBe(username);
}

/** `sessions.list` as the page's own origin calls it, with the browser's cookies. */
const listed = (page: Page) => page.evaluate(async () => ((await (await fetch('/trpc/sessions.list')).json()) as { result: { data: SessionView[] } }).result.data);
const cookieNames = async (page: Page) => (await page.context().cookies(srv.url)).map((cookie) => cookie.name).sort();

describe.skipIf(!chromiumHere)('the demo page: stay signed in and device labels, in Chromium', () => {
  beforeAll(async () => {
    execFileSync('npm', ['run', '--silent', 'build:web'], { stdio: 'inherit' });
    srv = await startServer({ deps: { onSessionEvent: (event) => void events.push(event) } });
    for (const username of ['demo-stay', 'demo-plain']) await srv.gatehouse.services.accounts.register?.(username, password);
    mkdirSync(RESULTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  }, 90_000);

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await srv?.close();
  });

  it('ticked: the device is listed as "Chrome on Linux" with its user agent; a user agent holding HTML is shown as text and creates no element; Forget removes the device, and once the session idles out that browser is signed out while a remembered one resumes', async () => {
    const page = await demo(CHROME_ON_LINUX);
    await page.locator('#auth-form').waitFor();
    expect(await page.locator('label[for="stay-signed-in"]').textContent()).toBe('Stay signed in on this device');
    expect(await page.isChecked('#stay-signed-in')).toBe(false);
    await signIn(page, 'demo-stay', true);
    expect(await page.locator('#notice').textContent()).toBe(`Signed in as demo-stay. ${REMEMBERED}`);
    expect(await cookieNames(page)).toEqual(['sid', 'sid-device', 'sid-remember']);

    // This browser's session and its remembered device, each by its label, the raw user agent beside it.
    await expect.poll(() => page.locator('#devices li').count()).toBe(1);
    const device = page.locator('#devices li');
    expect(await device.locator('.device').textContent()).toBe('Chrome on Linux');
    expect(await device.locator('.device').getAttribute('title')).toBe(CHROME_ON_LINUX);
    expect(await device.locator('.user-agent').textContent()).toBe(CHROME_ON_LINUX);
    expect(await device.locator('.badge').textContent()).toBe('This device');
    expect(await device.locator('button').textContent()).toBe('Forget');
    expect(await page.locator('#no-devices').isVisible()).toBe(false);
    expect(await page.locator('#sessions li').count()).toBe(1);
    expect(await page.locator('#sessions li .device').textContent()).toBe('Chrome on Linux');
    expect(await page.locator('#sessions li .badge').textContent()).toBe('This browser');

    // A second session, from a client whose User-Agent is markup, without the box ticked.
    const hostile = await demo(HOSTILE);
    await signIn(hostile, 'demo-stay', false);
    expect(await hostile.locator('#notice').textContent()).toBe('Signed in as demo-stay.');
    expect(await cookieNames(hostile)).toEqual(['sid', 'sid-device']);
    await page.reload();
    await expect.poll(() => page.locator('#sessions li').count()).toBe(2);
    const other = page.locator('#sessions li:has(button[data-revoke])');
    // bowser finds no browser in it: the label is the first word, as for a CLI ("notes-cli").
    expect(await other.locator('.device').textContent()).toBe('<img');
    expect(await other.locator('.device').getAttribute('title')).toBe(HOSTILE);
    expect(await other.locator('.user-agent').textContent()).toBe(HOSTILE);
    expect(await other.locator('.device').evaluate((element) => element.childElementCount)).toBe(0);
    expect(await other.locator('.user-agent').evaluate((element) => element.childElementCount)).toBe(0);
    expect(await page.evaluate(() => ({ images: document.querySelectorAll('img').length, pwned: document.body.dataset.pwned ?? null }))).toEqual({ images: 0, pwned: null });
    // Its unticked login remembered nothing: still one device.
    await expect.poll(() => page.locator('#devices li').count()).toBe(1);
    await page.locator('#devices details').first().evaluate((details) => ((details as HTMLDetailsElement).open = true));
    await page.screenshot({ path: join(RESULTS, 'demo-devices.png'), fullPage: true });

    const forgotten = await page.locator('#devices li').getAttribute('data-device-id');
    await page.click('#devices button[data-forget]');
    await expect.poll(() => page.locator('#notice').textContent()).toBe('That device was forgotten: once its session ends, it asks for the password.');
    await expect.poll(() => page.locator('#devices li').count()).toBe(0);
    expect(await page.locator('#no-devices').isVisible()).toBe(true);
    expect(await page.locator('#no-devices').textContent()).toBe('No device stays signed in.');
    const after = await listed(page);
    expect(after.filter((view) => view.kind === 'remembered')).toEqual([]);
    expect(after.map((view) => view.id)).not.toContain(forgotten);

    // A third browser that stays signed in and is not forgotten: what the forgotten one would have done.
    const kept = await demo(CHROME_ON_LINUX);
    await signIn(kept, 'demo-stay', true);

    // The sessions idle out (the server's clock moves past the 30-minute idle timeout).
    srv.clock.advance(31 * MINUTE);
    await page.reload();
    await page.locator('#auth-form').waitFor();
    expect(await page.locator('#app').getAttribute('data-state')).toBe('signed-out');
    expect(await page.evaluate(async () => (await fetch('/trpc/data')).status)).toBe(401);
    // The server dropped the forgotten credential's cookie when the browser presented it.
    expect(await cookieNames(page)).not.toContain('sid-remember');
    await hostile.reload();
    await hostile.locator('#auth-form').waitFor();
    await kept.reload();
    await expect.poll(() => kept.locator('#signed-in-as').textContent()).toBe('demo-stay');
    expect((await listed(kept)).filter((view) => view.kind === 'remembered').map((view) => view.device)).toEqual(['Chrome on Linux']);
    // Forgetting is no theft: nothing of the user was ended as if a credential had been copied.
    expect(events.filter((event) => event.type === 'device-credential-replayed')).toEqual([]);
  }, 120_000);

  it('unticked: signing in remembers no device (no credential cookie, none listed, the page says so)', async () => {
    const page = await demo();
    await signIn(page, 'demo-plain', false);
    expect(await page.locator('#notice').textContent()).toBe('Signed in as demo-plain.');
    expect(await cookieNames(page)).toEqual(['sid', 'sid-device']);
    await expect.poll(() => page.locator('#sessions li').count()).toBe(1);
    expect(await page.locator('#devices li').count()).toBe(0);
    expect(await page.locator('#no-devices').isVisible()).toBe(true);
    expect(await page.locator('#no-devices').textContent()).toBe('No device stays signed in.');
    expect((await listed(page)).map((view) => view.kind)).toEqual(['session']);
  }, 60_000);

  it('creating an account with the box ticked remembers the device too', async () => {
    const page = await demo(CHROME_ON_LINUX);
    await signIn(page, 'demo-new', true, '#register');
    expect(await page.locator('#notice').textContent()).toBe(`Account created. Signed in as demo-new. ${REMEMBERED}`);
    await expect.poll(() => page.locator('#devices li').count()).toBe(1);
    expect(await page.locator('#devices li .device').textContent()).toBe('Chrome on Linux');
    expect(await cookieNames(page)).toEqual(['sid', 'sid-remember']);
  }, 60_000);

  it('with SESSION_STAY_SIGNED_IN=off the page offers no checkbox and lists no devices', async () => {
    const off = await startServer({ env: { SESSION_STAY_SIGNED_IN: 'off' } });
    try {
      await off.gatehouse.services.accounts.register?.('demo-off', password);
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(`${off.url}/`);
      await page.locator('#auth-form').waitFor();
      expect(await page.locator('#stay-signed-in').count()).toBe(0);
      await page.fill('#username', 'demo-off');
      await page.fill('#password', password);
      await page.click('#login');
      await expect.poll(() => page.locator('#signed-in-as').textContent()).toBe('demo-off');
      await expect.poll(() => page.locator('#sessions li').count()).toBe(1);
      expect(await page.locator('#devices').count()).toBe(0);
      expect(await page.locator('h3').count()).toBe(0);
    } finally {
      await off.close();
    }
  }, 60_000);
});

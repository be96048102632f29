import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionEvent } from '../server/index.js';
import { haveChromium } from './helpers/chromium.js';
import { ManualClock } from './helpers/clock.js';
import { type HostSite, launchSiteBrowser, SITE, selfSignedCertificate, startHostSite } from './helpers/hostSite.js';

// "Stay signed in" in a real browser (SECURITY.md L13): the credential's cookie as Chromium keeps it on an HTTPS
// site with production cookies, and several tabs restored at once after the session timed out, all signed in.
const chromiumHere = haveChromium('test/staySignedInBrowser.test.ts');
const password = 'correct horse battery';

let browser: Browser;
let site: HostSite;
const clock = new ManualClock();
const events: SessionEvent[] = [];

describe.skipIf(!chromiumHere)('stay signed in, in Chromium', () => {
  beforeAll(async () => {
    site = await startHostSite({ tls: selfSignedCertificate(), gatehouse: { staySignedIn: true, clock, onSessionEvent: (event) => void events.push(event) } });
    await site.gatehouse.services.accounts.register?.('remembered', password);
    browser = await launchSiteBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  const url = () => `https://app.${SITE}:${site.port}`;

  it('the credential is __Host-sid-remember: HttpOnly, Secure, SameSite=Lax, Path=/, host-only, 30 days; several tabs restored at once after the session timed out are all signed in, without an alarm', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await context.newPage();
      await page.goto(`${url()}/`);
      const status = await page.evaluate(
        async (body) => (await fetch('/trpc/auth.login', { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status,
        JSON.stringify({ username: 'remembered', password, staySignedIn: true }),
      );
      expect(status).toBe(200);
      const cookie = (await context.cookies()).find((c) => c.name === '__Host-sid-remember')!;
      expect({ httpOnly: cookie.httpOnly, secure: cookie.secure, sameSite: cookie.sameSite, path: cookie.path, domain: cookie.domain }).toEqual({
        httpOnly: true,
        secure: true,
        sameSite: 'Lax',
        path: '/',
        domain: `app.${SITE}`,
      });
      expect(Math.abs(cookie.expires * 1000 - (Date.now() + 30 * 24 * 3_600_000))).toBeLessThan(60_000);
      expect(await page.evaluate(() => document.cookie)).toBe('');
      await page.close();

      // The session times out; the browser comes back with five tabs at once (restored on start).
      clock.advance(31 * 60_000);
      const tabs = await Promise.all(Array.from({ length: 5 }, () => context.newPage()));
      await Promise.all(tabs.map((tab) => tab.goto(`${url()}/`)));
      const signedIn = await Promise.all(tabs.map((tab) => tab.evaluate(async () => ((await (await fetch('/trpc/auth.me')).json()) as { result: { data: unknown } }).result.data !== null)));
      expect(signedIn).toEqual([true, true, true, true, true]);
      // And later still, on whatever credential the browser kept.
      clock.advance(31 * 60_000);
      const later = await tabs[0]!.evaluate(async () => ((await (await fetch('/trpc/auth.me')).json()) as { result: { data: unknown } }).result.data !== null);
      expect(later).toBe(true);
      expect(events.filter((event) => event.type === 'device-credential-replayed')).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});

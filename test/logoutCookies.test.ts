import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium } from './helpers/chromium.js';
import { type HostSite, launchSiteBrowser, listen, type Listening, SITE, selfSignedCertificate, startHostSite } from './helpers/hostSite.js';

// Issue 19, point 5: what a logout leaves of the host app's cookies, and its neighbours', in a real browser.
// `Clear-Site-Data: "cookies"` is invisible to Node's fetch; Chromium drops every cookie of the registrable
// domain on it (all of gatehouse.test here: sibling subdomains and Domain cookies too), and only in a secure
// context: the host sites on app.gatehouse.test are HTTPS (a self-signed certificate), plain.gatehouse.test is
// plain http, which is not one (http://localhost would be).
const chromiumHere = haveChromium('test/logoutCookies.test.ts');
const password = 'correct horse battery';

let browser: Browser;
let sibling: Listening;
let byDefault: HostSite;
let siteWide: HostSite;
let insecure: HostSite;
const origin = (host: 'app' | 'other' | 'plain', site: Listening) => `${host === 'app' ? 'https' : 'http'}://${host}.${SITE}:${site.port}`;

/** The neighbouring app on a sibling subdomain: a cookie of its own, and one for the whole site. */
async function startSibling(): Promise<Listening> {
  return listen((req, res) => {
    const cookies: Record<string, string[]> = {
      '/set': ['neighbour=1; Path=/; SameSite=Lax', `site-wide=1; Path=/; Domain=${SITE}; SameSite=Lax`],
      '/elsewhere': ['elsewhere=1; Path=/'],
    };
    res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': cookies[req.url ?? ''] ?? [] });
    res.end('<!doctype html><title>neighbour</title>');
  });
}

describe.skipIf(!chromiumHere)('logout and the site’s other cookies, in Chromium', () => {
  beforeAll(async () => {
    const tls = selfSignedCertificate();
    [sibling, byDefault, siteWide, insecure] = await Promise.all([
      startSibling(),
      startHostSite({ tls }),
      startHostSite({ tls, cookie: { clearSiteData: true } }),
      startHostSite({ cookie: { clearSiteData: true } }),
    ]);
    for (const site of [byDefault, siteWide, insecure]) {
      const answer = await site.gatehouse.services.accounts.register?.('leaving', password);
      expect(answer).toMatchObject({ user: { username: 'leaving' } });
    }
    browser = await launchSiteBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([sibling, byDefault, siteWide, insecure].map((site) => site?.close()));
  });

  /** Cookies everywhere: the neighbour's (its own, site-wide), another site's, the host's (koa-session, consent), and a sign-in. */
  async function signedInWithNeighbours(context: BrowserContext, host: 'app' | 'plain', site: HostSite, secureContext: boolean) {
    const app = origin(host, site);
    const page = await context.newPage();
    await page.goto(`${origin('other', sibling)}/set`);
    await page.goto(`http://localhost:${sibling.port}/elsewhere`);
    await page.goto(`${app}/prefs`);
    expect(await page.evaluate(() => window.isSecureContext)).toBe(secureContext);
    const login = await page.evaluate(async (body) => (await fetch('/trpc/auth.login', { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status, JSON.stringify({ username: 'leaving', password }));
    expect(login).toBe(200);
    expect(await cookieNames(context)).toEqual([sessionCookie(host), deviceCookie(host), `consent@${host}`, 'elsewhere@localhost', 'neighbour@other', 'site-wide@.gatehouse.test', `theme.sig@${host}`, `theme@${host}`].map(full).sort());
    return page;
  }

  /** Gatehouse's cookie: `__Host-sid` on the HTTPS sites, `sid` on plain http. */
  const sessionCookie = (host: 'app' | 'plain') => (host === 'app' ? '__Host-sid@app' : 'sid@plain');
  /** The login throttle's known-browser marker, which a logout leaves (that is its point), unless Clear-Site-Data drops it. */
  const deviceCookie = (host: 'app' | 'plain') => (host === 'app' ? '__Host-sid-device@app' : 'sid-device@plain');

  /** Signs out through the page; the header as it came over the wire (Chromium does not show Clear-Site-Data to the page). */
  async function logOut(page: Page) {
    const answer = page.waitForResponse((res) => res.url().endsWith('/trpc/auth.logout'));
    const status = await page.evaluate(async () => (await fetch('/trpc/auth.logout', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status);
    return { status, clearSiteData: (await (await answer).allHeaders())['clear-site-data'] ?? null };
  }

  it('by default (a library mounted in a host app): logout expires only Gatehouse’s session cookie; the host’s, the neighbour’s, the site-wide ones and the known-browser marker stay', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      // A secure context: had Clear-Site-Data been sent, Chromium would have acted on it.
      const page = await signedInWithNeighbours(context, 'app', byDefault, true);
      expect(await logOut(page)).toEqual({ status: 200, clearSiteData: null });
      expect(await cookieNames(context)).toEqual([deviceCookie('app'), 'consent@app', 'elsewhere@localhost', 'neighbour@other', 'site-wide@.gatehouse.test', 'theme.sig@app', 'theme@app'].map(full).sort());
      expect(await page.evaluate(async () => (await fetch('/trpc/auth.me')).json())).toMatchObject({ result: { data: null } });
    } finally {
      await context.close();
    }
  }, 60_000);

  it('with cookie.clearSiteData: true (the reference server’s choice), in a secure context: every cookie of the site goes, sibling subdomains’ and Domain cookies included; another site’s stays', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await signedInWithNeighbours(context, 'app', siteWide, true);
      expect(await logOut(page)).toEqual({ status: 200, clearSiteData: '"cookies"' });
      expect(await cookieNames(context)).toEqual(['elsewhere@localhost']);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('with cookie.clearSiteData: true on a page that is not a secure context (plain http, not localhost): no Clear-Site-Data, so Chromium still applies the Set-Cookie that expires Gatehouse’s cookie', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await signedInWithNeighbours(context, 'plain', insecure, false);
      expect(await logOut(page)).toEqual({ status: 200, clearSiteData: null });
      // Chromium ignores Clear-Site-Data here, and with it the answer's Set-Cookie: sent anyway, the old sid stayed.
      expect(await cookieNames(context)).toEqual([deviceCookie('plain'), 'consent@plain', 'elsewhere@localhost', 'neighbour@other', 'site-wide@.gatehouse.test', 'theme.sig@plain', 'theme@plain'].map(full).sort());
    } finally {
      await context.close();
    }
  }, 60_000);
});

/** `name@app` → `name@app.gatehouse.test` (host-only cookies of a subdomain); other domains as they are. */
function full(entry: string): string {
  const [name, domain = ''] = entry.split('@');
  return ['app', 'other', 'plain'].includes(domain) ? `${name}@${domain}.${SITE}` : entry;
}

async function cookieNames(context: BrowserContext): Promise<string[]> {
  return (await context.cookies()).map((cookie) => `${cookie.name}@${cookie.domain}`).sort();
}

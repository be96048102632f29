import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium } from './helpers/chromium.js';
import { type HostSite, launchSiteBrowser, listen, type Listening, SITE, startHostSite } from './helpers/hostSite.js';

// Issue 19, point 6, in Chromium: the attack browsers do not stop. A page on a sibling subdomain is the same
// site, so SameSite=Lax sends the user's cookie with its form posts; an HTML form (urlencoded or text/plain)
// and a no-cors fetch need no CORS preflight. The host's REST routes act for the user through sessionOf(ctx).
// With gatehouse.csrf() on them they refuse; the same host without it (the control) shows the attack is real.
const chromiumHere = haveChromium('test/hostCsrfBrowser.test.ts');
const password = 'correct horse battery';

let browser: Browser;
let attacker: Listening;
let guarded: HostSite;
let unguarded: HostSite;
const appOrigin = (site: Listening) => `http://app.${SITE}:${site.port}`;

/** The sibling's pages, each aimed at `?target=<the host's origin>`. */
function attackPage(kind: string, target: string): string {
  const notes = `${target}/api/notes`;
  const forms: Record<string, string> = {
    form: `<form method="POST" action="${notes}"><input name="text" value="form-forged"></form>`,
    // text/plain sends name=value: this name and value make the body {"text":"plain-forged","x":"="}.
    plain: `<form method="POST" action="${notes}" enctype="text/plain"><input name='{"text":"plain-forged","x":"' value='"}'></form>`,
    signout: `<form method="POST" action="${target}/api/sign-out"><input name="x" value="1"></form>`,
  };
  if (kind === 'fetch') {
    return `<!doctype html><title>free tea</title><script>
      window.results = (async () => {
        const out = {};
        // Simple request (no preflight): the JSON goes as text/plain, with the cookie.
        await fetch(${JSON.stringify(notes)}, { method: 'POST', mode: 'no-cors', credentials: 'include', body: JSON.stringify({ text: 'fetch-forged' }) });
        out.simple = 'sent';
        try {
          await fetch(${JSON.stringify(notes)}, { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'cors-forged' }) });
          out.json = 'answered';
        } catch (error) { out.json = 'blocked: ' + error.name; }
        return out;
      })();
    </script>`;
  }
  return `<!doctype html><title>free tea</title>${forms[kind]}<script>document.forms[0].submit()</script>`;
}

describe.skipIf(!chromiumHere)('a sibling subdomain’s page against the host’s own routes, in Chromium', () => {
  beforeAll(async () => {
    [attacker, guarded, unguarded] = await Promise.all([
      listen((req, res) => {
        const url = new URL(req.url ?? '/', 'http://x');
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(attackPage(url.pathname.slice('/attack/'.length), url.searchParams.get('target') ?? ''));
      }),
      startHostSite({ csrf: true }),
      startHostSite({ csrf: false }),
    ]);
    for (const site of [guarded, unguarded]) await site.gatehouse.services.accounts.register?.('victim', password);
    browser = await launchSiteBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([attacker, guarded, unguarded].map((site) => site?.close()));
  });

  /** The victim signed in on the host, in a fresh browser profile. */
  async function victim(site: HostSite): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${appOrigin(site)}/`);
    const login = await page.evaluate(async (body) => (await fetch('/trpc/auth.login', { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status, JSON.stringify({ username: 'victim', password }));
    expect(login).toBe(200);
    return { context, page };
  }

  /** Opens the sibling's page of this kind and answers with the status the host gave its request. */
  async function attack(context: BrowserContext, site: HostSite, kind: 'form' | 'plain' | 'signout' | 'fetch', path = '/api/notes'): Promise<number> {
    const page = await context.newPage();
    const answer = page.waitForResponse((res) => res.url() === `${appOrigin(site)}${path}` && res.request().method() === 'POST');
    await page.goto(`http://other.${SITE}:${attacker.port}/attack/${kind}?target=${encodeURIComponent(appOrigin(site))}`);
    const status = (await answer).status();
    if (kind === 'fetch') {
      // The preflighted JSON fetch is stopped by the browser itself (no CORS answer): never sent.
      expect(await page.evaluate(() => (window as unknown as { results: Promise<unknown> }).results)).toEqual({ simple: 'sent', json: 'blocked: TypeError' });
    }
    await page.close();
    return status;
  }

  const signedIn = (page: Page) => page.evaluate(async () => ((await (await fetch('/trpc/auth.me')).json()) as { result: { data: unknown } }).result.data !== null);

  it('without csrf() (the control): the sibling’s urlencoded form, text/plain form and no-cors fetch each save a note as the user, and its form signs the user out', async () => {
    const { context, page } = await victim(unguarded);
    try {
      expect(await attack(context, unguarded, 'form')).toBe(201);
      expect(await attack(context, unguarded, 'plain')).toBe(201);
      expect(await attack(context, unguarded, 'fetch')).toBe(201);
      expect(unguarded.notes).toEqual(['form-forged', 'plain-forged', 'fetch-forged'].map((text) => ({ user: 'victim', text })));
      expect(await attack(context, unguarded, 'signout', '/api/sign-out')).toBe(200);
      expect(await signedIn(page)).toBe(false);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('with csrf(): each of them is refused with 403, no note is saved and the user stays signed in', async () => {
    const { context, page } = await victim(guarded);
    try {
      expect(await attack(context, guarded, 'form')).toBe(403);
      expect(await attack(context, guarded, 'plain')).toBe(403);
      expect(await attack(context, guarded, 'fetch')).toBe(403);
      expect(await attack(context, guarded, 'signout', '/api/sign-out')).toBe(403);
      expect(guarded.notes).toEqual([]);
      expect(await signedIn(page)).toBe(true);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('with csrf(): the host’s own page still saves a note with a JSON fetch (201); its own urlencoded form to the requireJson route is 415', async () => {
    const { context, page } = await victim(guarded);
    try {
      const saved = await page.evaluate(async () => (await fetch('/api/notes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'my own note' }) })).status);
      expect(saved).toBe(201);
      const formAnswer = page.waitForResponse((res) => res.url().endsWith('/api/notes') && res.request().method() === 'POST');
      await page.evaluate(() => {
        const form = Object.assign(document.createElement('form'), { method: 'POST', action: '/api/notes' });
        form.append(Object.assign(document.createElement('input'), { name: 'text', value: 'a form note' }));
        document.body.append(form);
        form.submit();
      });
      expect((await formAnswer).status()).toBe(415);
      expect(guarded.notes).toEqual([{ user: 'victim', text: 'my own note' }]);
    } finally {
      await context.close();
    }
  }, 60_000);
});

import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BackendName, describeEachBackend, WITH_KEYV } from './helpers/backends.js';
import { type HeldApp, startHeldApp } from './helpers/heldApp.js';
import { request, sessionCookie } from './helpers/http.js';

/**
 * SECURITY.md L12, attack 30: an acknowledged session-data update is never
 * lost or undone by another request of the same session that loaded the
 * record earlier and writes after it — an idle extension, another update,
 * a rotation — on every backend. The earlier request is parked inside its
 * handler (its session loaded), the update runs, then the earlier one goes on.
 */
const PASSWORD = 'correct horse battery';
const BACKENDS: readonly BackendName[] = [...WITH_KEYV, 'redis-cluster', 'redis-sentinel'];

describeEachBackend(
  'no acknowledged session-data update is lost to a request that loaded the session before it',
  (backendOf) => {
    let app: HeldApp;
    let users = 0;
    beforeAll(async () => {
      app = await startHeldApp(await backendOf().open());
    });
    afterAll(() => app.close());

    const post = (path: string, cookie: string, body: unknown = {}) => request(`${app.url}/trpc/${path}`, { cookie, body });
    const dataOf = async (cookie: string) => {
      const res = await request(`${app.url}/trpc/read`, { cookie });
      return res.status === 200 ? (res.json as { result: { data: { data: { elevated: boolean; marks: string[] } } } }).result.data.data : res.status;
    };
    async function signedIn(): Promise<string> {
      users += 1;
      const username = `updates-${users}`;
      await app.createUser(username, PASSWORD);
      return sessionCookie(await request(`${app.url}/trpc/auth.login`, { body: { username, password: PASSWORD } }));
    }
    /** Starts `slow` (parked once its session is loaded), runs `meanwhile`, then lets `slow` finish. */
    async function around(cookie: string, then: 'read' | 'mark' | 'rotate', meanwhile: () => Promise<void>) {
      const name = `${then}-${users}`;
      const parked = app.hold(name);
      const slow = post('slow', cookie, { name, then });
      await parked.entered;
      await meanwhile();
      parked.release();
      return slow;
    }

    it('an idle extension written after a revocation of a flag does not bring the flag back', async () => {
      const cookie = await signedIn();
      const slow = await around(cookie, 'read', async () => {
        // The slow request's idle extension falls due, and the flag is revoked meanwhile.
        app.clock.advance(5 * 60_000);
        const revoked = await post('revokeElevated', cookie);
        expect(revoked.json).toEqual({ result: { data: { elevated: false, marks: [] } } });
      });
      expect(slow.status).toBe(200);
      expect(await dataOf(cookie)).toEqual({ elevated: false, marks: [] });
      // The extension did land: the session's idle window runs from the slow request.
      const session = (await app.gatehouse.services.sessions.listForUser((await app.gatehouse.services.accounts.findByLogin!(`updates-${users}`))!.user.id))[0]!;
      expect(session.record.lastSeen).toBe(app.clock.now());
    });

    it('two updates by function at once both apply: the later writer re-reads and applies its change again', async () => {
      const cookie = await signedIn();
      const slow = await around(cookie, 'mark', async () => {
        expect((await post('mark', cookie, { mark: 'fast' })).json).toEqual({ result: { data: { elevated: true, marks: ['fast'] } } });
      });
      expect(slow.status).toBe(200);
      expect(slow.json).toEqual({ result: { data: { elevated: true, marks: ['fast', `slow-mark-${users}`] } } });
      expect(await dataOf(cookie)).toEqual({ elevated: true, marks: ['fast', `slow-mark-${users}`] });
    });

    it('a rotation by a request that loaded the session before an update carries the update to the new id', async () => {
      const cookie = await signedIn();
      const slow = await around(cookie, 'rotate', async () => {
        expect((await post('mark', cookie, { mark: 'fast' })).status).toBe(200);
      });
      expect(slow.status).toBe(200);
      const rotated = sessionCookie(slow);
      expect(await dataOf(rotated)).toEqual({ elevated: true, marks: ['fast'] });
      expect(await dataOf(cookie)).toBe(401);
    });

    it('an update by a request that loaded the session before another request rotated it lands in the successor', async () => {
      const cookie = await signedIn();
      let rotated = '';
      const slow = await around(cookie, 'mark', async () => {
        const rotation = await post('rotate', cookie);
        expect(rotation.status).toBe(200);
        rotated = sessionCookie(rotation);
      });
      expect(slow.status).toBe(200);
      // The slow request's own id is over: it hands out no cookie.
      expect(slow.setCookies.filter((line) => !line.startsWith('sid=;'))).toEqual([]);
      expect(await dataOf(rotated)).toEqual({ elevated: true, marks: [`slow-mark-${users}`] });
      expect(await dataOf(cookie)).toBe(401);
    });

    it('an update after the session was logged out is 401 and writes nothing back', async () => {
      const cookie = await signedIn();
      const slow = await around(cookie, 'mark', async () => {
        expect((await post('auth.logout', cookie)).json).toEqual({ result: { data: { loggedOut: true } } });
      });
      expect(slow.status).toBe(401);
      expect(await dataOf(cookie)).toBe(401);
      const account = await app.gatehouse.services.accounts.findByLogin!(`updates-${users}`);
      expect(await app.gatehouse.services.sessions.listForUser(account!.user.id)).toEqual([]);
    });
  },
  BACKENDS,
);

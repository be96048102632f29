import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { type BackendName, describeEachBackend, WITH_KEYV } from './helpers/backends.js';
import { idOfCookie } from './helpers/backendServer.js';
import { Gate, gatedStore } from './helpers/gates.js';
import { type HeldApp, startHeldApp } from './helpers/heldApp.js';
import { type RawResponse, request, sessionCookie } from './helpers/http.js';

/**
 * SECURITY.md L4 and L11, attack 29: a rotation held at each of its store
 * steps while an operation that ends sessions runs, then released. The
 * holds are store writes every version of Gatehouse makes: the successor's
 * record (before it: the old session was already destroyed, in 0.2) and its
 * index entry. Every backend, one process (the model checker plays two).
 */
const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a brand new password';
const BACKENDS: readonly BackendName[] = [...WITH_KEYV, 'redis-cluster', 'redis-sentinel'];

/** An operation that ends every session of the user, as a browser or an administrator runs it. */
type EndAll = 'setRole' | 'disableUser' | 'deleteUser' | 'revokeUserSessions' | 'revokeOthers' | 'changePassword';
const END_ALLS: readonly EndAll[] = ['setRole', 'disableUser', 'deleteUser', 'revokeUserSessions', 'revokeOthers', 'changePassword'];

describeEachBackend(
  'ended means ended: a rotation held mid-way loses to every end-all and to a logout',
  (backendOf) => {
    let app: HeldApp;
    let raw: KeyValueStore;
    let adminCookie: string;
    const successorWrite = new Gate();
    const indexWrite = new Gate();
    const generationCheck = new Gate();
    let users = 0;

    beforeAll(async () => {
      raw = await backendOf().open();
      app = await startHeldApp(
        gatedStore(raw, { set: { gate: successorWrite, key: /^s:/ }, mapSet: { gate: indexWrite, key: /^si:/ }, get: { gate: generationCheck, key: /^sg:/ } }),
      );
      await app.createUser('ended-admin', PASSWORD, 'admin');
      adminCookie = await login('ended-admin');
    });
    afterAll(() => app.close());

    const post = (path: string, cookie: string | undefined, body: unknown = {}) => request(`${app.url}/trpc/${path}`, { ...(cookie ? { cookie } : {}), body });
    const read = (cookie: string) => request(`${app.url}/trpc/read`, { cookie });
    async function login(username: string, password = PASSWORD): Promise<string> {
      return sessionCookie(await post('auth.login', undefined, { username, password }));
    }
    /** The cookies an answer set with a value (a cleared one is not a session). */
    const issued = (res: RawResponse) => res.setCookies.map((line) => line.split(';')[0]!).filter((pair) => !pair.endsWith('='));
    const fresh = async () => {
      users += 1;
      const username = `ended-${users}`;
      await app.createUser(username, PASSWORD);
      return { username, a: await login(username), b: await login(username) };
    };

    /** Runs the end-all `kind` for `username`, from `other` (another session of theirs) where it is the user's own. */
    function endAll(kind: EndAll, username: string, other: string): Promise<RawResponse> {
      switch (kind) {
        case 'revokeOthers':
          return post('sessions.revokeOthers', other);
        case 'changePassword':
          return post('auth.changePassword', other, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
        case 'setRole':
          return post('admin.setRole', adminCookie, { username, role: 'admin' });
        default:
          return post(`admin.${kind}`, adminCookie, { username });
      }
    }

    /** Every session the user has in the store (the index, read through the session store). */
    const liveOf = async (username: string) => {
      const account = await app.gatehouse.services.accounts.findByLogin!(username);
      return account ? app.gatehouse.services.sessions.listForUser(account.user.id) : [];
    };

    const rotations = [
      ['auth.reauthenticate', { password: PASSWORD }],
      ['rotate', {}],
    ] as const;

    for (const [hold, gate] of [
      ['before the successor is written', successorWrite],
      ['between the successor and its index entry', indexWrite],
    ] as const) {
      describe(`a rotation held ${hold}`, () => {
        for (const kind of END_ALLS) {
          for (const [rotation, body] of rotations) {
            it(`${kind} runs meanwhile (${rotation}): the rotation is 401, neither its cookie nor the old one works, and no session keeps the old account`, async () => {
              const { username, a, b } = await fresh();
              gate.arm();
              const pending = post(rotation, a, body);
              await gate.held();
              const ended = await endAll(kind, username, b);
              gate.release();
              const rotated = await pending;
              expect(ended.status).toBe(200);
              expect(rotated.status).toBe(401);
              for (const cookie of [...issued(rotated), a]) expect((await read(cookie)).status).toBe(401);
              const live = await liveOf(username);
              if (kind === 'revokeOthers' || kind === 'changePassword') {
                // Only the caller's own session stays (rotated by a password change).
                const caller = kind === 'changePassword' ? sessionCookie(ended) : b;
                expect(live.map((session) => session.publicId)).toHaveLength(1);
                expect((await read(caller)).status).toBe(200);
              } else {
                expect(live).toEqual([]);
              }
            });
          }
        }
      });
    }

    describe('a logout of the same session (another tab) while its rotation is held', () => {
      for (const [hold, gate, rotationAnswers] of [
        ['before the successor is written', successorWrite, 401],
        ['between the successor and its index entry', indexWrite, 401],
        // Past the hand-over the old id is a tombstone: the logout follows it and ends the successor too.
        ['after the hand-over, at its generation check', generationCheck, 200],
      ] as const) {
        it(`${hold}: the logout is 200 and ends it; the rotation is ${rotationAnswers}, and no id of it works afterwards`, async () => {
          const { username, a, b } = await fresh();
          gate.arm();
          const pending = post('auth.reauthenticate', a, { password: PASSWORD });
          await gate.held();
          const logout = await post('auth.logout', a);
          gate.release();
          const rotated = await pending;
          expect(logout.status).toBe(200);
          expect(logout.json).toEqual({ result: { data: { loggedOut: true } } });
          expect(rotated.status).toBe(rotationAnswers);
          for (const cookie of [...issued(rotated), a]) expect((await read(cookie)).status).toBe(401);
          // The other device is untouched: a logout ends one session, not all.
          expect((await read(b)).status).toBe(200);
          expect((await liveOf(username)).map((session) => session.publicId)).toHaveLength(1);
        });
      }

      it('a logout sent with the old cookie after the rotation answered still ends the rotated session (the victim throws out a thief)', async () => {
        const { a } = await fresh();
        const rotated = await post('rotate', a);
        expect(rotated.status).toBe(200);
        const successor = sessionCookie(rotated);
        expect(idOfCookie(successor)).not.toBe(idOfCookie(a));
        expect((await read(a)).status).toBe(401);
        expect((await read(successor)).status).toBe(200);
        const logout = await post('auth.logout', a);
        expect(logout.json).toEqual({ result: { data: { loggedOut: true } } });
        expect((await read(successor)).status).toBe(401);
      });
    });
  },
  BACKENDS,
);

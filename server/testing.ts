import type { AnyRouter } from '@trpc/server';
import { pino } from 'pino';
import type { PasswordHasher } from './accounts/passwordHasher.js';
import { type Clock, systemClock } from './clock.js';
import { randomBytes } from 'node:crypto';
import { resolveOptions } from './options.js';
import { appRouter } from './routers/appRouter.js';
import type { ActiveSession, SessionHandle, SessionUser } from './session/requestSession.js';
import { logTagOf } from './session/requestSession.js';
import { newSessionId, publicIdOf } from './session/sessionId.js';
import type { SessionRecord } from './session/sessionRecord.js';
import type { SessionStore } from './session/sessionStore.js';
import type { KeyValueStore } from './store/keyValueStore.js';
import { openStore } from './store/openStore.js';
import { createServices } from './services.js';
import { type GatehouseContext, type Services, userOf } from './trpc/context.js';
import { createCallerFactory } from './trpc/init.js';

/**
 * A session handle without HTTP: it keeps the session in memory and in the
 * given `SessionStore`, so procedures that start, rotate or end sessions
 * behave as they do behind the real middleware.
 */
class InMemorySessionHandle implements SessionHandle {
  #id: string | undefined;
  #record: SessionRecord | undefined;

  constructor(
    private readonly sessions: SessionStore,
    private readonly clock: Clock,
  ) {}

  get current(): ActiveSession | null {
    if (!this.#id || !this.#record) return null;
    const publicId = publicIdOf(this.#id);
    return { publicId, logTag: logTagOf(publicId), record: this.#record, expiresAt: this.sessions.expiresAt(this.#record) };
  }

  async start(user: SessionUser): Promise<void> {
    await this.end();
    const now = this.clock.now();
    this.#id = newSessionId();
    this.#record = { v: 1, uid: user.id, username: user.username, role: user.role, createdAt: now, lastSeen: now, ua: 'test' };
    await this.sessions.create(this.#id, this.#record);
  }

  async rotate(): Promise<void> {
    if (!this.#id || !this.#record) throw new Error('rotate() needs a session');
    const record = { ...this.#record, lastSeen: this.clock.now() };
    await this.sessions.remove(this.#id, record.uid);
    this.#id = newSessionId();
    this.#record = record;
    await this.sessions.create(this.#id, record);
  }

  async end(): Promise<boolean> {
    const had = this.#id !== undefined;
    if (this.#id && this.#record) await this.sessions.remove(this.#id, this.#record.uid);
    this.#id = undefined;
    this.#record = undefined;
    return had;
  }
}

export interface TestCallerOptions<TRouter extends AnyRouter> {
  /** Sign the caller in as this user (a session is created in the store); omit for anonymous. */
  user?: SessionUser;
  router?: TRouter;
  clock?: Clock;
  /** Defaults to a fresh `memory://` store. */
  store?: KeyValueStore;
  hasher?: PasswordHasher;
}

export interface TestCaller<TRouter extends AnyRouter> {
  caller: ReturnType<TRouter['createCaller']>;
  ctx: GatehouseContext;
  services: Services;
  close(): Promise<void>;
}

/**
 * Calls procedures directly (no HTTP) as a given user or anonymously: for
 * unit-testing procedure logic, including your own protected procedures.
 *
 * @example
 * const { caller, close } = await createTestCaller({ user: { id: 'u1', username: 'alice', role: 'user' } });
 * expect((await caller.data()).user.username).toBe('alice');
 * await close();
 */
export async function createTestCaller<TRouter extends AnyRouter = typeof appRouter>(
  options: TestCallerOptions<TRouter> = {},
): Promise<TestCaller<TRouter>> {
  // The same validated defaults as createGatehouse (timeouts, session cap, throttle limits).
  const resolved = resolveOptions({ keys: [randomBytes(32).toString('base64url')] });
  const clock = options.clock ?? systemClock;
  const store = options.store ?? (await openStore({ url: 'memory://', timeoutMs: resolved.storeTimeoutMs }));
  const services = await createServices(resolved, store, clock, options.hasher);
  const session = new InMemorySessionHandle(services.sessions, clock);
  if (options.user) await session.start(options.user);
  const ctx: GatehouseContext = {
    session,
    get user() {
      return userOf(session);
    },
    clock,
    requestId: 'test-request',
    clientAddress: '127.0.0.1',
    log: pino({ level: 'silent' }),
    services,
  };
  const router = (options.router ?? appRouter) as TRouter;
  const caller = createCallerFactory(router)(ctx) as ReturnType<TRouter['createCaller']>;
  return { caller, ctx, services, close: () => store.close() };
}

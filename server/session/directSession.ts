import { type Carrier, CarriedSession } from './carriedSession.js';
import type { LiveSession, SessionCore } from './sessionCore.js';
import type { ActiveSession, EndReason, SessionHandle } from './sessionHandle.js';
import type { StoredData, StoredUser } from './sessionRecord.js';

/** The testing helper's carrier: it holds the last credential handed out, as a browser's cookie jar would. */
class HeldCredential implements Carrier {
  readonly kind = 'cookie' as const;
  credential: string | undefined;
  deviceMarkers: readonly string[] = [];

  keepDeviceMarkers(markers: readonly string[]): void {
    this.deviceMarkers = markers;
  }

  staySignedIn: string | undefined;

  handOverStaySignedIn(value: string | null): void {
    this.staySignedIn = value ?? undefined;
  }

  issue(live: LiveSession): Promise<void> {
    this.credential = live.id;
    return Promise.resolve();
  }

  clear(): Promise<void> {
    this.credential = undefined;
    return Promise.resolve();
  }

  reissue(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * A session without HTTP (the testing helper's): each procedure call, and
 * each call of this handle between them, runs as a request with the
 * credential held does — the session read again with its idle and
 * absolute timeouts (so moving the clock ends it), the transitions of the
 * same core, and the idle extension when due at the end. The same code as
 * behind the real middleware, minus the cookie.
 */
export class DirectSession implements SessionHandle<StoredUser, StoredData, unknown> {
  /** What procedures get as `ctx.session` during a call. */
  readonly handle: CarriedSession;
  readonly #core: SessionCore;
  readonly #held = new HeldCredential();

  constructor(core: SessionCore) {
    this.#core = core;
    this.handle = new CarriedSession(core, this.#held, { userAgent: 'test' });
  }

  /** Runs `call` as one request: the session loaded first, the idle window extended after. */
  async asRequest<T>(call: () => Promise<T>): Promise<T> {
    this.handle.reset();
    if (this.#held.credential) await this.handle.load(this.#held.credential);
    try {
      return await call();
    } finally {
      await this.handle.finish();
    }
  }

  /** The session as of the last call; `null` once its idle or absolute timeout has passed on the clock. */
  get current(): ActiveSession | null {
    const current = this.handle.current;
    return current && current.expiresAt > this.#core.clock.now() ? current : null;
  }

  start(user: StoredUser, data?: unknown): Promise<void> {
    return this.asRequest(() => this.handle.start(user, data));
  }

  rotate(): Promise<void> {
    return this.asRequest(() => this.handle.rotate());
  }

  refresh(): Promise<void> {
    return this.asRequest(() => this.handle.refresh());
  }

  update(change: Partial<StoredData> | ((data: StoredData) => unknown)): Promise<StoredData> {
    return this.asRequest(() => this.handle.update(change));
  }

  end(reason?: EndReason): Promise<boolean> {
    return this.asRequest(() => this.handle.end(reason));
  }

  endOthers(reason?: EndReason | 'password-change'): Promise<number> {
    return this.asRequest(() => this.handle.endOthers(reason));
  }
}

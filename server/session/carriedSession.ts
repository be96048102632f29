import { confirmAtEnd } from '../store/confirmAtEnd.js';
import type { CookieSigner } from './cookieSigner.js';
import { decodeCredential, type DeviceCredential, devicePublicIdOf, encodeCredential } from './deviceCredentials.js';
import { DescribedSession } from './describedSession.js';
import type { LiveSession, SessionCore } from './sessionCore.js';
import { notSignedIn } from './sessionErrors.js';
import type { ActiveSession, EndReason, SessionHandle } from './sessionHandle.js';
import type { SessionCarrier, StoredData, StoredUser } from './sessionRecord.js';
import { ANONYMOUS, ENDED, type LiveState, liveOf, type SessionState, VANISHED } from './sessionState.js';

/**
 * How one kind of client carries its session (DESIGN, "Credentials and
 * sessions"): the signed cookie, the testing helper's nothing at all. A
 * carrier only hands credentials out and takes them back; every rule of
 * the lifecycle is `SessionCore`'s.
 */
export interface Carrier {
  /** The credential this carrier hands out: a session answers only on the carrier it was issued for. */
  readonly kind: SessionCarrier;
  /** The answer hands the client this new session (started or rotated). */
  issue(live: LiveSession): Promise<void>;
  /** The client's credential is over: the answer clears it. */
  clear(): Promise<void>;
  /** The credential is still good but was signed under an older key: hand it out again. */
  reissue(live: LiveSession): Promise<void>;
  /** The known-device markers the client presented (the login throttle's hint; `[]` where the carrier keeps none). */
  readonly deviceMarkers: readonly string[];
  /** The answer hands the client these known-device markers (after a successful login). */
  keepDeviceMarkers(markers: readonly string[]): void;
  /** The "stay signed in" credential the client presented, as sent (signed), if any. */
  readonly staySignedIn: string | undefined;
  /** The answer hands the client a (new) "stay signed in" credential good for `maxAgeMs`, or, with `null`, tells it to drop its own. */
  handOverStaySignedIn(value: string | null, maxAgeMs?: number): void;
  /** The credential this request's answer hands out, where the client reads it from the body too (a bearer token). */
  readonly issuedToken?: string | undefined;
}

/**
 * One request's session, as procedures and host routes act on it: its
 * state (see `SessionState`) and the transitions they ask for, each run
 * by the core and then shown to the client by the carrier. A tRPC batch
 * runs its calls at once; their transitions here go one at a time.
 */
export class CarriedSession implements SessionHandle<StoredUser, StoredData, unknown> {
  state: SessionState = ANONYMOUS;
  /** The id the request's credential named, live or not: a logout with an id rotated away follows its tombstone. */
  presented: string | undefined;
  /** The request carried a credential of this carrier at all (valid or not): an SSE stream then needs it live. */
  credentialPresented = false;
  /** The credential was signed under an older key (known before the record is read). */
  credentialKeyRotated = false;
  readonly #core: SessionCore;
  readonly #carrier: Carrier;
  readonly #userAgent: string | null;
  /** Why this request may not carry a session (plain HTTP with Secure cookies), if it may not. */
  readonly #refusal: Error | undefined;
  /** The last `current` built, reused while the state it describes is unchanged. */
  #described: { state: LiveState; active: ActiveSession } | undefined;
  #transitions: Promise<unknown> = Promise.resolve();

  /** Signs and checks "stay signed in" credentials as they travel (as the session id is); none where they are not offered. */
  readonly #signer: CookieSigner | undefined;

  constructor(core: SessionCore, carrier: Carrier, options: { userAgent: string | null; refusal?: Error | undefined; signer?: CookieSigner | undefined }) {
    this.#core = core;
    this.#carrier = carrier;
    this.#userAgent = options.userAgent;
    this.#refusal = options.refusal;
    this.#signer = options.signer;
  }

  /**
   * "Stay signed in": a request without a live session that presents a
   * device credential gets a new session from it (not fresh), and a new
   * credential; an unknown or ended one is dropped; a replayed one ends
   * every session of the user (`SessionCore.resume`).
   */
  async resumeIfRemembered(): Promise<void> {
    if (liveOf(this.state) || this.#refusal || !this.#signer) return;
    const presented = this.#presentedCredential();
    if (!presented) return;
    const resumed = await this.#core.resume(presented, { ua: this.#userAgent, carrier: this.#carrier.kind });
    if (resumed.kind !== 'resumed') {
      this.#carrier.handOverStaySignedIn(null);
      if (resumed.kind === 'replayed' && this.credentialPresented) await this.#carrier.clear();
      return;
    }
    this.state = Object.freeze({ kind: 'started', ...resumed.live });
    await this.#carrier.issue(resumed.live);
    if (resumed.credential) this.#carrier.handOverStaySignedIn(this.#signer!.sign(encodeCredential(resumed.credential)), resumed.expiresAt - this.#core.clock.now());
  }

  /** After a login that asked to stay signed in on this device: a new device credential for this session's user. */
  async rememberThisDevice(): Promise<boolean> {
    const live = liveOf(this.state);
    if (!live || !this.#signer) return false;
    const remembered = await this.#core.rememberDevice(live);
    if (!remembered) return false;
    this.#carrier.handOverStaySignedIn(this.#signer.sign(encodeCredential(remembered.credential)), remembered.expiresAt - this.#core.clock.now());
    return true;
  }

  /** The id `sessions.list` shows for the "stay signed in" credential this request carries, if any. */
  get rememberedDeviceId(): string | undefined {
    const presented = this.#presentedCredential();
    return presented ? devicePublicIdOf(presented.seriesId) : undefined;
  }

  /** The device credential the request carries, if it is one this server signed. */
  #presentedCredential(): DeviceCredential | undefined {
    const sent = this.#carrier.staySignedIn;
    const verified = sent && this.#signer && sent.length <= 256 ? this.#signer.verify(sent) : undefined;
    return verified ? decodeCredential(verified.id) : undefined;
  }

  /** The known-device markers the client presented, for the login throttle. */
  get deviceMarkers(): readonly string[] {
    return this.#carrier.deviceMarkers;
  }

  /** Hands the client its known-device markers (a login succeeded). */
  keepDeviceMarkers(markers: readonly string[]): void {
    this.#carrier.keepDeviceMarkers(markers);
  }

  /** Starts over as a new request would (the testing helper's calls): no session until `load`. */
  reset(): void {
    this.state = ANONYMOUS;
    this.presented = undefined;
    this.credentialPresented = false;
    this.credentialKeyRotated = false;
  }

  /** The credential this request's answer hands out, where the client reads it from the body (a bearer token). */
  get issuedToken(): string | undefined {
    return this.#carrier.issuedToken;
  }

  /** How this request carries its session. */
  get carrierKind(): SessionCarrier {
    return this.#carrier.kind;
  }

  /** Reads the session the credential names (timeouts enforced); one issued for another carrier is no session. */
  async load(id: string): Promise<void> {
    this.presented = id;
    const found = await this.#core.resolve(id);
    if (found && found.record.carrier === this.#carrier.kind) this.state = Object.freeze({ kind: 'loaded', id, record: found.record, sealed: found.sealed, keyRotated: found.rotated || this.credentialKeyRotated });
  }

  get current(): ActiveSession | null {
    const live = liveOf(this.state);
    if (!live) return null;
    // Every request reads `current` (the tRPC context does); describing costs a SHA-256 for the public id.
    if (this.#described?.state === live) return this.#described.active;
    const active = new DescribedSession(live.id, live.record, this.#core.store.expiresAt(live.record));
    this.#described = { state: live, active };
    return active;
  }

  start(user: StoredUser, data?: unknown): Promise<void> {
    if (this.#refusal) return Promise.reject(this.#refusal);
    return this.#oneAtATime(async () => {
      const codec = this.#core.store.codec;
      // Validated before anything is written; nothing of an earlier (or anonymous) session carries over (L1).
      const checkedUser = codec.user(user);
      const checkedData = codec.data(data ?? {});
      const previous = liveOf(this.state);
      if (previous) this.state = ENDED;
      const live = await this.#core.start(checkedUser, checkedData, { ua: this.#userAgent, carrier: this.#carrier.kind }, previous);
      this.state = Object.freeze({ kind: 'started', ...live });
      await this.#carrier.issue(live);
    });
  }

  rotate(): Promise<void> {
    return this.#rotate('rotated');
  }

  refresh(): Promise<void> {
    return this.#rotate('refreshed');
  }

  update(change: Partial<StoredData> | ((data: StoredData) => unknown)): Promise<StoredData> {
    return this.#oneAtATime(async () => {
      const live = liveOf(this.state);
      if (!live) throw notSignedIn();
      const result = await this.#core.update(live, change).catch((error: unknown) => {
        if ((error as { status?: unknown }).status === 401 && this.state === live) this.state = VANISHED;
        throw error;
      });
      // Moved by another request's rotation: the change went to the successor, and this request's id is over.
      if (this.state === live) this.state = result.live ? Object.freeze({ ...live, record: result.live.record, sealed: result.live.sealed }) : VANISHED;
      return result.data;
    });
  }

  end(reason: EndReason = 'logout'): Promise<boolean> {
    const liveAtCall = liveOf(this.state);
    // Ended for every other call of this request (a batch) from now on, even while the store write runs.
    this.state = ENDED;
    return this.#oneAtATime(async () => {
      // A transition that was already running when end() was called may have left a newer live session.
      const live = liveOf(this.state) ?? liveAtCall;
      this.state = ENDED;
      // A durable write the store made but its replicas did not confirm in time (StoreUnconfirmedError): the
      // session did end where it was stored, so the client's credential is cleared all the same, then the 503 goes out.
      return confirmAtEnd(async (step) => {
        // No live session, but a credential: it may name a tombstone, whose successor a logout ends too (L11).
        const ended = await step(live ? this.#core.end(live, reason) : this.presented ? this.#core.endById(this.presented, reason) : Promise.resolve(false));
        // Signing out on a device ends its "stay signed in" credential too: a shared computer stays signed out.
        const remembered = this.#presentedCredential();
        const devices = this.#core.store.devices;
        if (remembered) {
          if (devices) await step(devices.forget(remembered));
          this.#carrier.handOverStaySignedIn(null);
        }
        await this.#carrier.clear();
        return live !== undefined || ended;
      });
    });
  }

  endOthers(reason: EndReason | 'password-change' = 'revoked'): Promise<number> {
    return this.#oneAtATime(async () => {
      const live = liveOf(this.state);
      if (!live) throw notSignedIn();
      // Unconfirmed, the others still ended and the kept session carries the new generation: this request keeps it.
      return confirmAtEnd(async (step) => {
        const { ended, live: kept } = await step(this.#core.endOthers(live, reason));
        if (this.state === live) this.state = kept ? Object.freeze({ ...live, record: kept.record, sealed: kept.sealed }) : VANISHED;
        return ended;
      });
    });
  }

  /** After the handlers ran: extend the idle window, or re-seal and re-sign under the first key, if due. */
  /** Whether `finish()` has a write to do (an idle extension, a re-seal under the first key). */
  get commitDue(): boolean {
    const state = this.state;
    return state.kind === 'loaded' && (state.keyRotated || this.#core.touchDue(state));
  }

  finish(): Promise<void> {
    return this.#oneAtATime(async () => {
      const state = this.state;
      if (state.kind !== 'loaded' || (!state.keyRotated && !this.#core.touchDue(state))) return;
      const touched = await this.#core.touch(state);
      if (this.state !== state) return;
      if (!touched) {
        this.state = VANISHED;
        return;
      }
      this.state = Object.freeze({ ...state, record: touched.record, sealed: touched.sealed, keyRotated: false });
      if (state.keyRotated) await this.#carrier.reissue(touched);
    });
  }

  #rotate(kind: 'rotated' | 'refreshed'): Promise<void> {
    if (this.#refusal) return Promise.reject(this.#refusal);
    return this.#oneAtATime(async () => {
      const previous = liveOf(this.state);
      if (!previous) throw notSignedIn();
      let live: LiveSession;
      try {
        live = await this.#core.rotate(previous, kind);
      } catch (error) {
        if (this.state === previous && (error as { status?: unknown }).status === 401) this.state = ENDED;
        throw error;
      }
      if (this.state !== previous) {
        // This request's own end() arrived while the rotation ran: the successor must not outlive it.
        await this.#core.end(live, 'logout');
        throw notSignedIn();
      }
      this.state = Object.freeze({ kind: 'started', ...live });
      await this.#carrier.issue(live);
    });
  }

  /** Runs `transition` once every transition this request asked for before it has settled. */
  #oneAtATime<T>(transition: () => Promise<T>): Promise<T> {
    const result = this.#transitions.then(transition);
    this.#transitions = result.catch(() => undefined);
    return result;
  }
}

import type { SessionEvent } from './sessionEvents.js';
import { publicIdOf } from './sessionId.js';
import type { SessionStore } from './sessionStore.js';

interface Watched {
  readonly id: string;
  readonly controller: AbortController;
  /** Open streams of this session. */
  streams: number;
}

/**
 * Ends open streams (SSE subscriptions, streamed batches) whose session
 * ended. A session ended in this process (logout, revocation, password
 * change, cap, an administrator's action) aborts its streams at once; one
 * ended on another instance, or expired, is noticed by the next check
 * (every `intervalMs`, default 2 s: one store read per watched session).
 */
export class SessionWatch {
  readonly #store: SessionStore;
  readonly #intervalMs: number;
  /** By public id, the one the session events carry. */
  readonly #watched = new Map<string, Watched>();
  #timer: NodeJS.Timeout | undefined;
  #checking = false;

  constructor(store: SessionStore, intervalMs: number) {
    this.#store = store;
    this.#intervalMs = intervalMs;
  }

  /** A signal that aborts when the session `id` ends; call `release` when the stream is over. */
  watch(id: string): { signal: AbortSignal; release: () => void } {
    const publicId = publicIdOf(id);
    let entry = this.#watched.get(publicId);
    if (!entry || entry.controller.signal.aborted) {
      entry = { id, controller: new AbortController(), streams: 0 };
      this.#watched.set(publicId, entry);
    }
    entry.streams += 1;
    this.#start();
    const watched = entry;
    let released = false;
    return {
      signal: watched.controller.signal,
      release: () => {
        if (released) return;
        released = true;
        watched.streams -= 1;
        if (watched.streams === 0 && this.#watched.get(publicId) === watched) this.#watched.delete(publicId);
        if (this.#watched.size === 0) this.#stop();
      },
    };
  }

  /** Session events of this process: an ended session's streams end now. */
  onEvent(event: SessionEvent): void {
    const ended = event.type === 'ended' ? event.sessionId : event.type === 'rotated' || event.type === 'refreshed' ? event.previousSessionId : undefined;
    if (ended !== undefined) this.#abort(ended);
  }

  /** Checks every watched session once (the timer does this every interval). */
  async checkNow(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      for (const [publicId, entry] of [...this.#watched]) {
        try {
          if (!(await this.#store.load(entry.id))) this.#abort(publicId);
        } catch {
          // A store outage says nothing about the session: keep the stream, check again next time.
        }
      }
    } finally {
      this.#checking = false;
    }
  }

  close(): void {
    this.#stop();
    for (const publicId of [...this.#watched.keys()]) this.#abort(publicId);
  }

  #abort(publicId: string): void {
    const entry = this.#watched.get(publicId);
    if (!entry) return;
    this.#watched.delete(publicId);
    entry.controller.abort(new Error('the session ended'));
    if (this.#watched.size === 0) this.#stop();
  }

  #start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.checkNow(), this.#intervalMs);
    this.#timer.unref();
  }

  #stop(): void {
    if (!this.#timer) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

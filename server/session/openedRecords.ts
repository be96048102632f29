import type { SessionRecord } from './sessionRecord.js';

export interface OpenedRecord {
  readonly record: Readonly<SessionRecord>;
  /** Sealed under an older key: re-seal on the next write. */
  readonly rotated: boolean;
}

/**
 * Memo of "decrypt and validate" for sealed records, keyed by the sealed
 * text itself (and the store key it was read under, the AES-GCM additional
 * data). Opening is a pure function of those two, so a hit returns exactly
 * what opening again would — the store is still read on every request, so
 * logout and revocation win as before; only the AES-GCM open and the zod
 * parse of an unchanged record are skipped. A record changes (new nonce,
 * new text) whenever it is written, so a stale entry can never be hit.
 * Bounded: the oldest entry goes first.
 */
export class OpenedRecords {
  readonly #entries = new Map<string, { key: string; opened: OpenedRecord }>();
  readonly #capacity: number;

  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }

  get(key: string, sealed: string): OpenedRecord | undefined {
    const entry = this.#entries.get(sealed);
    return entry?.key === key ? entry.opened : undefined;
  }

  remember(key: string, sealed: string, opened: OpenedRecord): void {
    if (this.#entries.size >= this.#capacity && !this.#entries.has(sealed)) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(sealed, { key, opened: Object.freeze({ record: Object.freeze(opened.record), rotated: opened.rotated }) });
  }
}

import type { ActiveSession } from './sessionHandle.js';
import { publicIdOf } from './sessionId.js';
import type { SessionCarrier, SessionRecord, StoredData, StoredUser } from './sessionRecord.js';

const LOG_TAG_LENGTH = 10;
export const logTagOf = (publicId: string) => publicId.slice(0, LOG_TAG_LENGTH);

/** `current`: the public id (a SHA-256) is worked out only if a procedure asks for it. */
export class DescribedSession implements ActiveSession {
  /** Private: the raw id must never show up when a procedure logs or returns `current`. */
  readonly #id: string;
  readonly #record: SessionRecord;
  #publicId: string | undefined;

  constructor(
    id: string,
    record: SessionRecord,
    readonly expiresAt: number,
  ) {
    this.#id = id;
    this.#record = record;
  }

  get publicId(): string {
    this.#publicId ??= publicIdOf(this.#id);
    return this.#publicId;
  }

  get logTag(): string {
    return logTagOf(this.publicId);
  }

  get user(): StoredUser {
    return this.#record.user;
  }

  get data(): StoredData {
    return this.#record.data;
  }

  get createdAt(): number {
    return this.#record.createdAt;
  }

  get lastSeen(): number {
    return this.#record.lastSeen;
  }

  get authAt(): number {
    return this.#record.authAt;
  }

  get userAgent(): string | null {
    return this.#record.ua;
  }

  get carrier(): SessionCarrier {
    return this.#record.carrier;
  }

  /** What logging or returning `current` shows: never the raw id. */
  toJSON() {
    return { publicId: this.publicId, user: this.user, data: this.data, createdAt: this.createdAt, lastSeen: this.lastSeen, authAt: this.authAt, expiresAt: this.expiresAt };
  }
}

import { TRPCError } from '@trpc/server';
import type { z } from 'zod';
import { type SessionRecord, sessionRecordShape, sessionRecordV1Shape, type StoredData, type StoredUser } from './sessionRecord.js';

/** Largest session data, as JSON (the record is sealed with it and read on every request). */
export const MAX_SESSION_DATA_BYTES = 4096;
/** Largest user snapshot a session holds, as JSON. */
export const MAX_SESSION_USER_BYTES = 4096;

/** Session data that does not match the team's schema, or is too large: nothing was written. A 400 over tRPC. */
export class SessionDataError extends TRPCError {
  readonly issues: readonly z.core.$ZodIssue[];
  constructor(message: string, issues: readonly z.core.$ZodIssue[] = [], cause?: unknown) {
    super({ code: 'BAD_REQUEST', message, cause });
    this.issues = issues;
  }
  /** For Koa's own error handler, when thrown in one of your routes: a 400 with this message, not a 500. */
  readonly status = 400;
  readonly expose = true;
}

/**
 * A user handed to `session.start()` that does not match the user schema:
 * a programming error (or an accounts adapter returning something else),
 * the same in production and in the testing helper.
 */
export class SessionUserError extends Error {
  override readonly name = 'SessionUserError';
}

export type MigrateSessionData = (stored: unknown) => unknown;

const describe = (issues: readonly z.core.$ZodIssue[]) =>
  issues.map((issue) => `${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`).join('; ');

/**
 * A session record as text, and back: the team's user and data schemas
 * decide what a session may hold. Writes are validated before anything
 * is stored; reads are validated every time (through the opened-record
 * memo). A record written before a deploy that changed the data schema
 * goes through `migrateSessionData` if the team gave one, else the
 * session ends. Records of format 1 (the built-in user, no data) are read
 * as format 2.
 */
export class SessionCodec {
  readonly #user: z.ZodType;
  readonly #data: z.ZodType;
  readonly #migrate: MigrateSessionData | undefined;

  constructor(userSchema: z.ZodType, dataSchema: z.ZodType, migrate?: MigrateSessionData) {
    this.#user = userSchema;
    this.#data = dataSchema;
    this.#migrate = migrate;
  }

  /** The user, validated; throws `SessionUserError` naming what is wrong. */
  user(value: unknown): StoredUser {
    const parsed = this.#user.safeParse(value);
    if (!parsed.success) throw new SessionUserError(`session.start() got a user that does not match the user schema: ${describe(parsed.error.issues)}`);
    const user = parsed.data as StoredUser;
    if (typeof user?.id !== 'string' || user.id === '') throw new SessionUserError('session.start() needs a user with a non-empty string id');
    const json = JSON.stringify(user);
    const bytes = Buffer.byteLength(json);
    if (bytes > MAX_SESSION_USER_BYTES) throw new SessionUserError(`the user is ${bytes} bytes as JSON; a session holds at most ${MAX_SESSION_USER_BYTES} (keep the rest in your user table)`);
    return ownFrozenCopy(json);
  }

  /** Session data, validated and bounded; throws `SessionDataError` (nothing is written). */
  data(value: unknown): StoredData {
    const parsed = this.#data.safeParse(value);
    if (!parsed.success) throw new SessionDataError(`Invalid session data: ${describe(parsed.error.issues)}`, parsed.error.issues, parsed.error);
    const json = JSON.stringify(parsed.data);
    const bytes = Buffer.byteLength(json);
    if (bytes > MAX_SESSION_DATA_BYTES) {
      throw new SessionDataError(`Session data is ${bytes} bytes as JSON; the limit is ${MAX_SESSION_DATA_BYTES}. Keep large data in your own store and its id in the session.`);
    }
    return ownFrozenCopy(json);
  }

  /**
   * The data after `change` (a patch merged in, or a function of a mutable
   * copy of the current data), validated: `update()`'s rule in one place.
   * A patch's `undefined` fields leave those fields as they are: a procedure
   * that copies an optional input field (`{ pageSize: input.pageSize }`)
   * hands over `undefined` when the client left it out, and merged in, that
   * reset the field to its schema default. The function's result is the
   * whole new data, so a field it leaves out (or undefined) gets its default,
   * or is gone if optional: the way to reset or clear one. The function gets
   * a copy, so a change it makes in place and then abandons (a throw, a
   * refusal by the schema) touches nothing shared.
   */
  changedData(current: StoredData, change: Partial<StoredData> | ((data: StoredData) => unknown)): StoredData {
    if (typeof change === 'function') return this.data(change(structuredClone(current)));
    const next: Record<string, unknown> = { ...current };
    for (const [field, value] of Object.entries(change)) if (value !== undefined) next[field] = value;
    return this.data(next);
  }

  /**
   * Format 2: `[2, user, data, createdAt, lastSeen, authAt, ua, gen?, carrier?]`,
   * a bare array (no field names at rest); the generation only when it is not
   * 0 (always, since this version's start at 2^40: `GENERATION_ERA`; 0.2 left
   * out its 0s), the carrier (`"b"`) only for a bearer session.
   */
  encode(record: SessionRecord): string {
    const fields: unknown[] = [2, record.user, record.data, record.createdAt, record.lastSeen, record.authAt, record.ua];
    if (record.gen > 0 || record.carrier === 'bearer') fields.push(record.gen);
    if (record.carrier === 'bearer') fields.push(BEARER);
    return JSON.stringify(fields);
  }

  /**
   * The record in `plaintext`, or `undefined` when it is not one this
   * app can use (wrong shape, a user or data its schemas refuse and no
   * migration saves). `migrated`: read from an older format or migrated
   * data, so it is rewritten on this request.
   */
  decode(plaintext: string): { record: SessionRecord; migrated: boolean } | undefined {
    let parsed: unknown;
    try {
      parsed = JSON.parse(plaintext);
    } catch {
      return undefined;
    }
    const fields = Array.isArray(parsed) ? fromArray(parsed) : parsed;
    const v2 = sessionRecordShape.safeParse(fields);
    if (v2.success) return this.#checked(v2.data, false);
    const v1 = sessionRecordV1Shape.safeParse(fields);
    if (!v1.success) return undefined;
    const { uid, username, role, createdAt, lastSeen, ua } = v1.data;
    return this.#checked({ v: 2, user: { id: uid, username, role }, data: {}, createdAt, lastSeen, authAt: createdAt, ua, gen: 0, carrier: 'cookie' }, true);
  }

  /** A record whose shape is right: its user and data through the team's schemas. */
  #checked(record: z.output<typeof sessionRecordShape>, migrated: boolean): { record: SessionRecord; migrated: boolean } | undefined {
    const user = this.#user.safeParse(record.user);
    if (!user.success) return undefined;
    let data = this.#data.safeParse(record.data);
    if (!data.success && this.#migrate) {
      let migratedData: unknown;
      try {
        migratedData = this.#migrate(record.data);
      } catch {
        return undefined;
      }
      if (migratedData === undefined) return undefined;
      data = this.#data.safeParse(migratedData);
      migrated = true;
    }
    if (!data.success) return undefined;
    // Copies, not zod's output: a nested default in that output is the schema's own object, shared by every parse.
    return { record: { ...record, user: ownFrozenCopy(JSON.stringify(user.data)), data: ownFrozenCopy(JSON.stringify(data.data)) }, migrated };
  }
}

/**
 * A session's user and data as the session holds them: the JSON it stores,
 * parsed again (so this request sees exactly what the next one will read,
 * and no object is shared with a schema default or the caller), deeply
 * frozen (an opened record is shared by every request that reads it: a
 * change goes through `update()`, never in place).
 */
function ownFrozenCopy<T>(json: string): T {
  return deepFreeze(JSON.parse(json) as T);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** A bearer session's mark at rest. */
const BEARER = 'b';

function fromArray(fields: unknown[]): unknown {
  if (fields[0] === 2 && fields.length >= 7 && fields.length <= 9) {
    const [v, user, data, createdAt, lastSeen, authAt, ua, gen = 0, carrier] = fields;
    return { v, user, data, createdAt, lastSeen, authAt, ua, gen, carrier: carrier === BEARER ? 'bearer' : carrier === undefined ? 'cookie' : carrier };
  }
  if (fields.length !== 7) return undefined;
  const [v, uid, username, role, createdAt, lastSeen, ua] = fields;
  return { v, uid, username, role, createdAt, lastSeen, ua };
}

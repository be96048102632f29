import { DURABLE, type KeyValueStore } from '../store/keyValueStore.js';
import { DirectoryKeys } from './directoryKeys.js';
import { parseUserRecord, type UserRecord } from './userRecord.js';

/** What Gatehouse 0.2 wrote, in the clear: `user:name:<lower-cased login>` → the account's id. */
export const LEGACY_NAME_PREFIX = 'user:name:';
/** …and `user:id:<id>` → the account's record as JSON. */
export const LEGACY_ID_PREFIX = 'user:id:';
/** Set once a process has moved every account 0.2 wrote that could be moved: no process looks for them again. */
export const LEGACY_MOVED_KEY = 'gatehouse:legacy-accounts-moved';
/** Keys listed (and moved) per round of `moveAll`. */
const BATCH = 100;
const NO_EXPIRY = 0;

/** Where the move reports what it leaves in place (a pino logger fits). */
export interface MigrationLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Why an account was left under its old keys. */
type LeftBecause = 'unreadable' | 'login-taken' | 'listed-again';

/** `moved`: now under the sealed keys only; `absent`: there was nothing to move; otherwise why it was left in place. */
export type MoveOutcome = 'moved' | 'absent' | { left: LeftBecause };

/** The account stays under its old keys (and its login with it). */
export const leftInPlace = (outcome: MoveOutcome): outcome is { left: LeftBecause } => typeof outcome === 'object';

const REASONS: Record<LeftBecause, string> = {
  unreadable: 'is not an account record this version reads',
  'login-taken': 'has a login another account took since (registered on an upgraded instance while this one was still on 0.2)',
  'listed-again': 'was written again after it was moved (is an instance still on 0.2?)',
};

/**
 * Moves the accounts 0.2 wrote in the clear to the sealed keys
 * (`DirectoryKeys`) without ever losing one: an account's new keys are
 * written with `add` (a record already there, moved by another process and
 * perhaps changed since, wins) before its old keys go, so two processes
 * moving at once, or one that stops half-way, leave every account
 * readable. What it cannot move stays where it is and is reported once,
 * without the id or login (the keys say which: whatever `user:id:` key is
 * left after a start).
 */
export class LegacyDirectory {
  readonly #kv: KeyValueStore;
  readonly #keys: DirectoryKeys;
  readonly #log: MigrationLog;
  /** Old keys already reported as left in place, so a login retried in a loop does not fill the log. */
  readonly #reported = new Set<string>();

  constructor(kv: KeyValueStore, keys: DirectoryKeys, log: MigrationLog) {
    this.#kv = kv;
    this.#keys = keys;
    this.#log = log;
  }

  /**
   * Moves every account, a batch at a time, until no old key is left but
   * those it cannot move; then drops the old login keys that name no
   * account any more (a 0.2 deletion that stopped half-way).
   */
  async moveAll(list: (prefix: string, limit: number) => Promise<string[]>): Promise<void> {
    const left = new Map<string, LeftBecause>();
    const moved = new Set<string>();
    for (;;) {
      // Listing past what is left in place, so each round finds keys still to move.
      const batch = (await list(LEGACY_ID_PREFIX, BATCH + left.size)).filter((key) => !left.has(key));
      if (batch.length === 0) break;
      for (const key of batch) {
        // A key moved once and listed again was written again: leave it rather than go round for ever.
        const outcome = moved.has(key) ? { left: 'listed-again' as const } : await this.#moveRecordAt(key);
        if (outcome === 'moved' || outcome === 'absent') moved.add(key);
        else left.set(key, outcome.left);
      }
    }
    const keptNames = new Set<string>();
    const dropped = new Set<string>();
    for (;;) {
      const batch = (await list(LEGACY_NAME_PREFIX, BATCH + keptNames.size)).filter((key) => !keptNames.has(key));
      if (batch.length === 0) break;
      for (const key of batch) {
        // Dropped once and listed again (a value the store lists but does not read back, such as a damaged Keyv
        // wrapper on Redis): leave it rather than go round for ever, with every directory call waiting on this.
        if (dropped.has(key) || !(await this.#dropStrayName(key))) keptNames.add(key);
        else dropped.add(key);
      }
    }
    for (const key of left.keys()) this.#reported.add(key);
    if (left.size > 0) this.#warnLeft([...left.values()]);
  }

  /** Moves the account with this id, if 0.2 wrote it (a store that cannot list its keys moves each account when it is first asked for). */
  async moveId(id: string): Promise<MoveOutcome> {
    const key = LEGACY_ID_PREFIX + id;
    return this.#reportOnce(key, await this.#moveRecordAt(key));
  }

  /** Moves the account with this login, if 0.2 wrote it; `left`: it stays under its old keys, and the login with it. */
  async moveName(username: string): Promise<MoveOutcome> {
    const nameKey = LEGACY_NAME_PREFIX + username.toLowerCase();
    const id = await this.#kv.get(nameKey);
    if (id === undefined) return 'absent';
    const key = LEGACY_ID_PREFIX + id;
    const outcome = this.#reportOnce(key, await this.#moveRecordAt(key));
    if (outcome === 'absent') await this.#dropStrayName(nameKey);
    return outcome;
  }

  async #moveRecordAt(oldIdKey: string): Promise<MoveOutcome> {
    const raw = await this.#kv.get(oldIdKey);
    if (raw === undefined) return 'absent';
    const record = parseUserRecord(raw);
    if (!record || LEGACY_ID_PREFIX + record.id !== oldIdKey) return { left: 'unreadable' };
    const idKey = this.#keys.idKey(record.id);
    const sealed = this.#keys.sealRecord(idKey, record);
    const added = await this.#kv.add(idKey, sealed, NO_EXPIRY, DURABLE);
    const claimed = await this.#claimName(record);
    // Moved by another process and deleted there since this call read the old record: nothing comes back. Checked
    // after the claim: a deletion that marks the record later also finds the login (which names it) and drops it.
    if ((await this.#kv.get(idKey)) === DirectoryKeys.DELETED) {
      const nameKey = this.#keys.nameKey(record.username);
      const held = await this.#kv.get(nameKey);
      if (held !== undefined && this.#keys.openId(nameKey, held) === record.id) await this.#kv.delete(nameKey, DURABLE);
      await this.forget(record);
      return 'absent';
    }
    if (!claimed) {
      // Left in place means not an account: the sealed copy this call added goes (one a move before made stays).
      if (added) await this.#kv.delete(idKey, DURABLE);
      return { left: 'login-taken' };
    }
    // The new keys are in place: only now may the old ones go.
    await this.forget(record);
    return 'moved';
  }

  /** Drops what 0.2 kept of this account: its record, and its login key while that still names it. */
  async forget(record: Pick<UserRecord, 'id' | 'username'>): Promise<void> {
    const oldNameKey = LEGACY_NAME_PREFIX + record.username.toLowerCase();
    if ((await this.#kv.get(oldNameKey)) === record.id) await this.#kv.delete(oldNameKey, DURABLE);
    await this.#kv.delete(LEGACY_ID_PREFIX + record.id, DURABLE);
  }

  /** Whether the record's sealed login key names it now (claimed here, or by another process moving it too). */
  async #claimName(record: UserRecord): Promise<boolean> {
    const nameKey = this.#keys.nameKey(record.username);
    if (await this.#kv.add(nameKey, this.#keys.sealId(nameKey, record.id), NO_EXPIRY, DURABLE)) return true;
    const held = await this.#kv.get(nameKey);
    return held !== undefined && this.#keys.openId(nameKey, held) === record.id;
  }

  /** Drops an old login key whose account record is gone (moved, or deleted by 0.2 half-way); resolves whether it did. */
  async #dropStrayName(oldNameKey: string): Promise<boolean> {
    const id = await this.#kv.get(oldNameKey);
    if (id === undefined) return true;
    // 0.2 wrote the record before the login and deleted it first: a login without its record names no account.
    if ((await this.#kv.get(LEGACY_ID_PREFIX + id)) !== undefined) return false;
    await this.#kv.delete(oldNameKey, DURABLE);
    return true;
  }

  #reportOnce(key: string, outcome: MoveOutcome): MoveOutcome {
    if (leftInPlace(outcome) && !this.#reported.has(key)) {
      this.#reported.add(key);
      this.#warnLeft([outcome.left]);
    }
    return outcome;
  }

  #warnLeft(reasons: readonly LeftBecause[]): void {
    const counts = new Map<LeftBecause, number>();
    for (const reason of reasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
    const what = [...counts].map(([reason, count]) => `${count} ${REASONS[reason]}`).join('; ');
    this.#log.warn(
      { event: 'accounts.legacy_left', left: reasons.length },
      `${reasons.length} account(s) Gatehouse 0.2 wrote in the clear (store keys "${LEGACY_ID_PREFIX}…") could not be moved to the sealed directory and were left in place: ${what}. ` +
        `They cannot sign in until fixed: correct or delete each "${LEGACY_ID_PREFIX}<id>" record left in the store (with its "${LEGACY_NAME_PREFIX}<login>" key), then restart.`,
    );
  }
}

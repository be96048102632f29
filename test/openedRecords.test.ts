import { describe, expect, it } from 'vitest';
import { OpenedRecords } from '../server/session/openedRecords.js';
import { Sealer } from '../server/session/sealer.js';
import { newSessionId, storeKeyOf } from '../server/session/sessionId.js';
import { recordFor, sessionStoreOver } from './helpers/sessionStores.js';
import { MemoryKeyValueStore } from '../server/store/memoryKeyValueStore.js';
import { ManualClock } from './helpers/clock.js';
import { TEST_KEY } from './helpers/server.js';

/** A sealer that counts how often it really decrypts. */
class CountingSealer extends Sealer {
  opens = 0;
  override open(sealed: string, additionalData: string) {
    this.opens += 1;
    return super.open(sealed, additionalData);
  }
}

function setup() {
  const clock = new ManualClock();
  const kv = new MemoryKeyValueStore();
  const sealer = new CountingSealer([TEST_KEY]);
  const sessions = sessionStoreOver(kv, sealer, clock);
  const record = (uid: string) => recordFor(uid, clock);
  return { clock, kv, sealer, sessions, record };
}

describe('opened-record memo (reads of an unchanged record skip AES-GCM and validation)', () => {
  it('a second read of the same record does not decrypt again, and returns the same frozen record', async () => {
    const { sealer, sessions, record } = setup();
    const id = newSessionId();
    await sessions.create(id, record('u-1'));
    const first = await sessions.load(id);
    const second = await sessions.load(id);
    expect(sealer.opens).toBe(1);
    expect(second?.record).toBe(first?.record);
    expect(Object.isFrozen(second?.record)).toBe(true);
    expect(second?.record.user.id).toBe('u-1');
  });

  it('an update is read back at once: new sealed text, so the memo misses and the new lastSeen shows', async () => {
    const { clock, sealer, sessions, record } = setup();
    const id = newSessionId();
    const created = record('u-1');
    await sessions.create(id, created);
    const read = (await sessions.load(id))!;
    clock.advance(120_000);
    expect(await sessions.rewriteAt(storeKeyOf(id), read.sealed, { ...created, lastSeen: clock.now() })).toBeDefined();
    const loaded = await sessions.load(id);
    expect(loaded?.record.lastSeen).toBe(clock.now());
    expect(sealer.opens).toBe(2);
  });

  it('a memoized record copied under another session key does not open there (the store key is part of the memo key)', async () => {
    const { kv, sessions, record } = setup();
    const victim = newSessionId();
    const attacker = newSessionId();
    await sessions.create(victim, record('u-victim'));
    await sessions.create(attacker, record('u-attacker'));
    expect((await sessions.load(victim))?.record.user.id).toBe('u-victim'); // now memoized
    await kv.set(storeKeyOf(attacker), (await kv.get(storeKeyOf(victim)))!, 60_000);
    expect(await sessions.load(attacker)).toBeUndefined();
    expect(await kv.get(storeKeyOf(attacker))).toBeUndefined(); // dropped as unreadable
  });

  it('logout still wins: a memoized record whose store entry is gone is no session', async () => {
    const { sessions, record } = setup();
    const id = newSessionId();
    await sessions.create(id, record('u-1'));
    await sessions.load(id);
    expect(await sessions.remove(id, 'u-1')).toBe(true);
    expect(await sessions.load(id)).toBeUndefined();
  });

  it('expiry is checked on every read, memoized or not', async () => {
    const { clock, sessions, record } = setup();
    const id = newSessionId();
    await sessions.create(id, record('u-1'));
    await sessions.load(id);
    clock.advance(30 * 60_000);
    expect(await sessions.load(id)).toBeUndefined();
  });

  it('is bounded: past its capacity the oldest entry goes first', () => {
    const memo = new OpenedRecords(2);
    const clock = new ManualClock(0);
    const opened = (uid: string) => ({ record: recordFor(uid, clock), rotated: false });
    memo.remember('k1', 'sealed-1', opened('a'));
    memo.remember('k2', 'sealed-2', opened('b'));
    memo.remember('k3', 'sealed-3', opened('c'));
    expect(memo.get('k1', 'sealed-1')).toBeUndefined();
    expect(memo.get('k2', 'sealed-2')?.record.user.id).toBe('b');
    expect(memo.get('k3', 'sealed-3')?.record.user.id).toBe('c');
    expect(memo.get('k2', 'sealed-3')).toBeUndefined();
  });
});

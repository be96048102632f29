import { describe, expect, it } from 'vitest';
import { createGatehouse, createLogger } from '../server/index.js';
import { Sealer } from '../server/session/sealer.js';
import { newSessionId } from '../server/session/sessionId.js';
import { MemoryKeyValueStore } from '../server/store/memoryKeyValueStore.js';
import { lazyStoreSecret, STORE_SECRET_KEY, StoreSecretLostError, StoreSecretSealedError } from '../server/store/storeSecret.js';
import { ManualClock } from './helpers/clock.js';
import { TEST_KEY } from './helpers/server.js';
import { recordFor, sessionStoreOver } from './helpers/sessionStores.js';

const DAY_MS = 86_400_000;

// Review of issue 21.1: `gatehouse:store-secret` deleted (by hand, by an eviction policy, by someone with
// write access to the store) while instances run. The running ones keep the secret they read; one started
// afterwards used to make a new one, so the two named every user's index and generation differently, and an
// end-all on the new instance missed what the old one started (and the built-in accounts became unreadable,
// their logins free to register). Now a store holding keys made under a secret is refused one without it.
describe('the store secret deleted while an instance runs', () => {
  it('an instance started afterwards refuses the store, naming the fix, instead of making a new secret that would miss what the running one started', async () => {
    const kv = new MemoryKeyValueStore();
    const clock = new ManualClock();
    const sealer = new Sealer([TEST_KEY]);
    const running = sessionStoreOver(kv, sealer, clock, undefined, lazyStoreSecret(kv, sealer, clock, DAY_MS));
    const id = newSessionId();
    await running.create(id, recordFor('victim', clock));

    await kv.delete(STORE_SECRET_KEY);
    const startedLater = sessionStoreOver(kv, sealer, clock, undefined, lazyStoreSecret(kv, sealer, clock, DAY_MS));
    await expect(startedLater.removeAllForUser('victim', undefined, 'password-change')).rejects.toBeInstanceOf(StoreSecretLostError);
    expect(await kv.get(STORE_SECRET_KEY)).toBeUndefined();
    // The running instance goes on with the secret it read: its sessions are still listed and ended as before.
    expect((await running.listForUser('victim')).length).toBe(1);
    await expect(createGatehouse({ keys: [TEST_KEY], store: kv, logger: createLogger('silent') })).rejects.toThrow(
      /the secret \(key "gatehouse:store-secret"\) is gone: restore it from a backup of the store\. Gatehouse does not make a new one/,
    );
  });

  it('a secret whose value was altered (sealed under a known key, opening under none) is told apart from replaced keys: restore it, do not delete it', async () => {
    const kv = new MemoryKeyValueStore();
    const clock = new ManualClock();
    const sealer = new Sealer([TEST_KEY]);
    await lazyStoreSecret(kv, sealer, clock, DAY_MS)();
    const sealed = (await kv.get(STORE_SECRET_KEY))!;
    const altered = `${sealed.slice(0, -2)}${sealed.endsWith('AA') ? 'BB' : 'AA'}`;
    await kv.set(STORE_SECRET_KEY, altered, 0);
    const refused = lazyStoreSecret(kv, sealer, clock, DAY_MS)();
    await expect(refused).rejects.toBeInstanceOf(StoreSecretSealedError);
    await expect(refused).rejects.toThrow(/is sealed under one of SESSION_KEYS but does not open: its value was altered\. Restore it from a backup of the store; do not delete it\./);
  });
});

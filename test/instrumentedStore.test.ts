import { describe, expect, it } from 'vitest';
import { instrumentedStore } from '../server/store/instrumentedStore.js';
import type { KeyValueStore } from '../server/store/keyValueStore.js';
import { MemoryKeyValueStore } from '../server/store/memoryKeyValueStore.js';
import { NO_TELEMETRY, type Telemetry } from '../server/telemetry/telemetry.js';

/** Telemetry that records the name of every store operation it timed. */
function recordingTelemetry(): Telemetry & { operations: string[] } {
  const operations: string[] = [];
  return {
    ...NO_TELEMETRY,
    enabled: true,
    operations,
    storeOperation: (_backend, operation, run) => {
      operations.push(operation);
      return run();
    },
  };
}

describe('instrumentedStore and the optional keysWithPrefix', () => {
  it('times keysWithPrefix like any operation when the store has it, and answers what the store does', async () => {
    const memory = new MemoryKeyValueStore();
    await memory.set('p:1', 'x', 60_000);
    await memory.set('q:1', 'x', 60_000);
    const telemetry = recordingTelemetry();
    const store = instrumentedStore(memory, telemetry);
    expect(await store.keysWithPrefix!('p:', 10)).toEqual(['p:1']);
    expect(telemetry.operations).toEqual(['keysWithPrefix']);
  });

  it('leaves it out when the store has none, so a caller’s `if (!kv.keysWithPrefix)` still sees it missing', () => {
    // Like a keyvStore over an adapter Keyv cannot iterate; the wrapper looks the other methods up only when called.
    const withoutIt = { kind: 'keyv', close: () => Promise.resolve() } as unknown as KeyValueStore;
    const store = instrumentedStore(withoutIt, recordingTelemetry());
    expect('keysWithPrefix' in store).toBe(false);
    expect(store.keysWithPrefix).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { randomPool } from '../server/session/randomPool.js';
import { Sealer } from '../server/session/sealer.js';
import { newSessionId } from '../server/session/sessionId.js';
import { TEST_KEY } from './helpers/server.js';

describe('pooled CSPRNG draws (session ids and AES-GCM nonces)', () => {
  it('never hands out the same bytes twice, across many pool refills and draw sizes that straddle them', () => {
    const seen = new Set<string>();
    // 12 + 32 + 7 bytes per round do not divide 4096: draws keep crossing the refill point.
    for (let round = 0; round < 5_000; round += 1) {
      for (const length of [12, 32, 7]) {
        const hex = randomPool.bytes(length).toString('hex');
        expect(hex).toHaveLength(length * 2);
        seen.add(hex);
      }
    }
    expect(seen.size).toBe(15_000);
  });

  it('a drawn buffer is the caller’s own: a later draw does not change it', () => {
    const first = randomPool.bytes(32);
    const copy = Buffer.from(first);
    for (let i = 0; i < 300; i += 1) randomPool.bytes(32);
    expect(first.equals(copy)).toBe(true);
  });

  it('session ids are 43 base64url characters, all distinct, with every character in use', () => {
    const ids = Array.from({ length: 20_000 }, newSessionId);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(ids).size).toBe(ids.length);
    // Crude bias check: 860,000 characters over a 64-letter alphabet, each letter near 1/64.
    const counts = new Map<string, number>();
    for (const id of ids) for (const ch of id.slice(0, 42)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(64);
    const expected = (ids.length * 42) / 64;
    for (const count of counts.values()) expect(Math.abs(count - expected) / expected).toBeLessThan(0.1);
  });

  it('two seals of the same record never share a nonce', () => {
    const sealer = new Sealer([TEST_KEY]);
    const nonces = new Set<string>();
    for (let i = 0; i < 2_000; i += 1) {
      const payload = Buffer.from(sealer.seal('{"same":true}', 's:key').split('.')[2]!, 'base64url');
      nonces.add(payload.subarray(0, 12).toString('hex'));
    }
    expect(nonces.size).toBe(2_000);
  });

  it('refuses a draw larger than the pool', () => {
    expect(() => randomPool.bytes(4097)).toThrow(RangeError);
  });
});

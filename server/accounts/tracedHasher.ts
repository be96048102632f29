import type { Telemetry } from '../telemetry/telemetry.js';
import type { PasswordHasher } from './passwordHasher.js';

/** The hasher, each hash and verification in a span (`gatehouse.password.hash`, `gatehouse.password.verify`): argon2id is most of a login's time. */
export function tracedHasher(hasher: PasswordHasher, telemetry: Telemetry): PasswordHasher {
  if (!telemetry.enabled) return hasher;
  return {
    hash: (password) => telemetry.inSpan('gatehouse.password.hash', () => hasher.hash(password)),
    verify: (hash, password) => telemetry.inSpan('gatehouse.password.verify', () => hasher.verify(hash, password)),
    // The dummy check of an unknown login is the same span as a real one: a trace must not tell them apart (A2).
    verifyDummy: (password) => telemetry.inSpan('gatehouse.password.verify', () => hasher.verifyDummy(password)),
  };
}

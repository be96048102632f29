import argon2 from 'argon2';

/**
 * argon2id with OWASP's minimum profile: 19 MiB memory, 2 iterations,
 * 1 lane (about 20–40 ms here). Tune `memoryCost`/`timeCost` upwards if
 * your servers can afford it; hashes record their own parameters, so old
 * ones keep verifying.
 */
export const ARGON2_PARAMS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /**
   * Verifies against a fixed dummy hash: an unknown username costs the same
   * time as a wrong password, so timing does not reveal which accounts exist.
   */
  verifyDummy(password: string): Promise<false>;
}

export async function createPasswordHasher(params = ARGON2_PARAMS): Promise<PasswordHasher> {
  const dummyHash = await argon2.hash('gatehouse-dummy-password', params);
  return {
    hash: (password) => argon2.hash(password, params),
    verify: async (hash, password) => {
      try {
        return await argon2.verify(hash, password);
      } catch {
        return false;
      }
    },
    verifyDummy: async (password) => {
      await argon2.verify(dummyHash, password).catch(() => false);
      return false;
    },
  };
}

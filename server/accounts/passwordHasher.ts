import { importPackage, type StoreDriver } from '../store/storeDriver.js';

/** argon2 is an optional peer: only teams using the built-in accounts (or `createPasswordHasher`) install it. */
export const ARGON2_PACKAGE: StoreDriver = { name: 'argon2', range: '^0.45' };

/**
 * argon2id with OWASP's minimum profile: 19 MiB memory, 2 iterations,
 * 1 lane (about 20–40 ms here). Tune `memoryCost`/`timeCost` upwards if
 * your servers can afford it; hashes record their own parameters, so old
 * ones keep verifying. (`type: 2` is the argon2 package's `argon2id`.)
 */
export const ARGON2_PARAMS = { type: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /**
   * Verifies against a fixed dummy hash: an unknown username costs the same
   * time as a wrong password, so timing does not reveal which accounts exist.
   */
  verifyDummy(password: string): Promise<false>;
}

/**
 * Gatehouse's argon2id hasher, as the built-in accounts use it. Needs the
 * `argon2` package (an optional peer dependency, a native module); without
 * it this fails at once, with the `npm install` line to run. A team with
 * its own users and its own hashes never calls it and never installs argon2.
 *
 * @example const hasher = await createPasswordHasher(); // at start-up
 */
export async function createPasswordHasher(params = ARGON2_PARAMS): Promise<PasswordHasher> {
  const argon2 = (await importPackage(ARGON2_PACKAGE, "Gatehouse's built-in accounts (createGatehouse without options.accounts) and createPasswordHasher() hash passwords with argon2id", () => import('argon2'))).default;
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

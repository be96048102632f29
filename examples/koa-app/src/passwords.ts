import { randomBytes, scrypt, type ScryptOptions, timingSafeEqual } from 'node:crypto';

/**
 * The shop's own password hashes, as its member table had them before Gatehouse: scrypt from
 * node:crypto (OWASP's parameters: N=2^17, r=8, p=1, 128 MiB), stored as
 * `scrypt$<salt>$<hash>` in base64url. Gatehouse never sees a hash: the member table checks passwords
 * itself (so the shop installs no argon2, a native module only Gatehouse's built-in accounts need).
 */
const PARAMS: ScryptOptions = { N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 1024 * 1024 };
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, PARAMS, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64url')}$${(await derive(password, salt)).toString('base64url')}`;
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await derive(password, Buffer.from(salt, 'base64url'));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** The same work for an unknown email as for a known one, so timing does not tell which members exist. */
const dummy = hashPassword('the shop’s dummy password');
export async function verifyDummy(password: string): Promise<false> {
  await verifyPassword(await dummy, password);
  return false;
}

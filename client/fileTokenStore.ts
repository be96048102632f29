import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { TokenName, TokenStore } from './tokenStore.js';

const TOKEN_NAMES: readonly string[] = ['session', 'device', 'remember'] satisfies TokenName[];

/** A token file that is not one `fileTokenStore` wrote, that another user owns, or that others can read: left as it is, with the fix. */
export class TokenFileError extends Error {
  override readonly name = 'TokenFileError';
}

type Tokens = Partial<Record<TokenName, string>>;

/**
 * A bearer client's tokens in a JSON file only its user can read and write
 * (mode 0600; each missing directory on its path is created with mode 0700,
 * whatever the umask, and an existing one keeps its mode), written whole
 * through a new temporary file (created exclusively, flushed to disk) and a
 * rename, so a crash never leaves half a token; the file is removed when no
 * token is left. For CLIs. `~` means the home directory.
 *
 * It never overwrites a file it did not write (a mistyped path pointing at
 * `~/.bashrc`, say), and never uses tokens another user owns or other users
 * could have read: such a file is refused with a `TokenFileError` that names
 * the fix.
 *
 * @example
 * const { api } = createBearerClient<AppRouter>({ url, tokens: fileTokenStore('~/.config/notes/session.json') });
 */
export function fileTokenStore(path: string): TokenStore {
  const file = resolve(path.replace(/^~(?=$|\/)/, homedir()));
  const refuse = (why: string, fix = 'Delete it and sign in again, or point the client at another file') =>
    new TokenFileError(`${file} ${why}; it was left as it is. ${fix}.`);

  const read = (): Tokens => {
    let text: string;
    try {
      // Copied tokens are live tokens: a file others can read is refused, as ssh refuses such a key.
      const { mode, uid } = statSync(file);
      // Another user's tokens are not ours to send (a shared or mistyped path, `sudo` with a user's HOME):
      // the same refusal as ssh gives a key file its user does not own.
      const ownUid = process.getuid?.();
      if (ownUid !== undefined && uid !== ownUid) {
        throw refuse(
          `belongs to another user (uid ${uid}; this process runs as uid ${ownUid})`,
          'Point the client at a file of your own, or run it as the user who owns this file',
        );
      }
      if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
        throw refuse(`is readable or writable by other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}), so its tokens may have been copied`);
      }
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      if (error instanceof TokenFileError) throw error;
      throw refuse(`cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, 'Check its owner and permissions, or point the client at another file');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw refuse('is not a token file (not JSON)');
    }
    const entries = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? Object.entries(parsed) : undefined;
    if (!entries || entries.some(([name, value]) => !TOKEN_NAMES.includes(name) || typeof value !== 'string' || value === '')) {
      throw refuse('is not a token file (expected an object of session, device and remember tokens)');
    }
    return Object.fromEntries(entries) as Tokens;
  };

  const write = (tokens: Tokens) => {
    if (Object.keys(tokens).length === 0) {
      try {
        unlinkSync(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      return;
    }
    createDirectories(dirname(file));
    // A new name each time, created exclusively ('wx'): never a file (or a planted link) that was already there.
    const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      fchmodSync(fd, 0o600); // exactly 0600, whatever the umask
      writeSync(fd, JSON.stringify(tokens));
      fsyncSync(fd);
    } catch (error) {
      closeSync(fd);
      unlinkSync(temporary);
      throw error;
    }
    closeSync(fd);
    try {
      renameSync(temporary, file);
    } catch (error) {
      // A failed rename must not leave a copy of the tokens behind under a name nothing reads or removes.
      try {
        unlinkSync(temporary);
      } catch {
        // The rename's error is the one that says what went wrong; it is thrown below.
      }
      throw error;
    }
  };

  return {
    get: (name) => read()[name],
    set: (name, value) => write({ ...read(), [name]: value }),
    delete: (name) => {
      const { [name]: _gone, ...rest } = read();
      write(rest);
    },
  };
}

/**
 * Creates `directory` and any missing parent with mode exactly 0700: `mkdir`'s mode goes through the
 * umask, which could leave a directory others can list or one its owner cannot write. A directory that
 * already exists keeps its mode (`~/.config` is the user's to set).
 */
function createDirectories(directory: string) {
  const first = mkdirSync(directory, { recursive: true, mode: 0o700 });
  if (first === undefined) return;
  for (let created = directory; ; created = dirname(created)) {
    chmodSync(created, 0o700);
    if (created === first) return;
  }
}

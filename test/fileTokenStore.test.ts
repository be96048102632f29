import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import type * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fileTokenStore, TokenFileError } from '../client/node.js';

// A rename that fails (a full disk, a read-only remount between the write and the rename) cannot be
// provoked for root in a temporary directory, so the test that needs one swaps `renameSync` for a failing one.
const renameFailure = vi.hoisted(() => ({ error: undefined as Error | undefined }));
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof fs>();
  return {
    ...real,
    renameSync: (from: string, to: string) => {
      if (renameFailure.error) throw renameFailure.error;
      real.renameSync(from, to);
    },
  };
});

/** A CLI's tokens on disk (`fileTokenStore`): only its user can read them, a write is all or nothing, a stranger's file is never used or overwritten. */
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-tokens-'));
});
afterEach(() => {
  renameFailure.error = undefined;
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe('when the file does not exist yet', () => {
  it('holds no token, and the first one creates the file 0600 in a new directory 0700', async () => {
    const file = join(dir, 'config', 'cli', 'tokens.json');
    const tokens = fileTokenStore(file);
    expect(await tokens.get('session')).toBeUndefined();
    await tokens.set('session', 'token-1');
    expect([modeOf(file), modeOf(join(dir, 'config', 'cli')), modeOf(join(dir, 'config'))]).toEqual(['600', '700', '700']);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ session: 'token-1' });
    expect(await fileTokenStore(file).get('session')).toBe('token-1');
  });

  it('creates the new directories exactly 0700 whatever the umask (one that takes the owner’s write bit away), and leaves an existing one’s mode', async () => {
    chmodSync(dir, 0o755);
    const file = join(dir, 'config', 'cli', 'tokens.json');
    const previous = process.umask(0o277);
    try {
      await fileTokenStore(file).set('session', 'token-1');
    } finally {
      process.umask(previous);
    }
    expect([modeOf(file), modeOf(join(dir, 'config', 'cli')), modeOf(join(dir, 'config')), modeOf(dir)]).toEqual(['600', '700', '700', '755']);
  });
});

describe('when it writes', () => {
  it('replaces the file through a rename (a new inode: a reader sees the old file or the new one, never half), leaving no temporary file', async () => {
    const file = join(dir, 'tokens.json');
    const tokens = fileTokenStore(file);
    await tokens.set('session', 'token-1');
    const before = statSync(file).ino;
    await tokens.set('remember', 'remember-1');
    expect(statSync(file).ino).not.toBe(before);
    expect(readdirSync(dir)).toEqual(['tokens.json']);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ session: 'token-1', remember: 'remember-1' });
    expect(modeOf(file)).toBe('600');
  });

  it('writes 0600 whatever the umask (one that takes the owner’s write bit away too)', async () => {
    const previous = process.umask(0o277);
    try {
      const file = join(dir, 'tokens.json');
      await fileTokenStore(file).set('session', 'token-1');
      expect(modeOf(file)).toBe('600');
    } finally {
      process.umask(previous);
    }
  });

  it('a link planted where the file goes, to a file that is not a token file: refused, and the link’s target is untouched', async () => {
    const target = join(dir, 'precious.txt');
    writeFileSync(target, 'keep me', { mode: 0o600 });
    const file = join(dir, 'tokens.json');
    symlinkSync(target, file);
    await expect(Promise.resolve().then(() => fileTokenStore(file).set('session', 'token-1'))).rejects.toThrow(`${file} is not a token file (not JSON)`);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
  });

  it('a rename that fails: the error is thrown, the temporary file is removed, and the old file is left as it was', async () => {
    const file = join(dir, 'tokens.json');
    const tokens = fileTokenStore(file);
    await tokens.set('session', 'token-1');
    renameFailure.error = Object.assign(new Error('ENOSPC: no space left on device, rename'), { code: 'ENOSPC' });
    await expect(Promise.resolve().then(() => tokens.set('remember', 'remember-1'))).rejects.toThrow('ENOSPC: no space left on device, rename');
    expect(readdirSync(dir)).toEqual(['tokens.json']);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ session: 'token-1' });
  });

  it('removes the file when the last token is deleted', async () => {
    const file = join(dir, 'tokens.json');
    const tokens = fileTokenStore(file);
    await tokens.set('session', 'token-1');
    await tokens.set('device', 'device-1');
    await tokens.delete('session');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ device: 'device-1' });
    await tokens.delete('device');
    expect(existsSync(file)).toBe(false);
    await tokens.delete('device');
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('when the file is not one it wrote', () => {
  const cases: [string, string][] = [
    ['not JSON', 'export PATH=/usr/bin\n'],
    ['a JSON array', '["token"]'],
    ['an unknown key', '{"session":"token-1","user":"alice"}'],
    ['a value that is not a string', '{"session":42}'],
    ['an empty token', '{"session":""}'],
    ['half a write', '{"session":"tok'],
  ];
  it.each(cases)('%s: refused with a message naming the file and the fix, and the file is left as it was', async (_name, text) => {
    const file = join(dir, 'tokens.json');
    writeFileSync(file, text, { mode: 0o600 });
    const tokens = fileTokenStore(file);
    const expected = `${file} is not a token file`;
    await expect(Promise.resolve().then(() => tokens.get('session'))).rejects.toThrow(expected);
    await expect(Promise.resolve().then(() => tokens.set('session', 'token-2'))).rejects.toThrow(
      /it was left as it is\. Delete it and sign in again, or point the client at another file\.$/,
    );
    await expect(Promise.resolve().then(() => tokens.delete('session'))).rejects.toThrow(TokenFileError);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('a file other users can read is refused (its tokens may have been copied), naming the mode', async () => {
    const file = join(dir, 'tokens.json');
    writeFileSync(file, '{"session":"token-1"}');
    chmodSync(file, 0o644);
    await expect(Promise.resolve().then(() => fileTokenStore(file).get('session'))).rejects.toThrow(
      `${file} is readable or writable by other users (mode 0644), so its tokens may have been copied; it was left as it is. Delete it and sign in again, or point the client at another file.`,
    );
    chmodSync(file, 0o600);
    expect(await fileTokenStore(file).get('session')).toBe('token-1');
  });

  it('a file another user owns is refused (its tokens are not this user’s to send), naming both uids and the fix, and left as it was', async () => {
    const file = join(dir, 'tokens.json');
    writeFileSync(file, '{"session":"token-1"}', { mode: 0o600 });
    const owner = statSync(file).uid;
    // The file stays ours; the process claims to run as someone else (making a file another user's needs root).
    vi.spyOn(process, 'getuid').mockReturnValue(owner + 1);
    const tokens = fileTokenStore(file);
    await expect(Promise.resolve().then(() => tokens.get('session'))).rejects.toThrow(
      `${file} belongs to another user (uid ${owner}; this process runs as uid ${owner + 1}); it was left as it is. Point the client at a file of your own, or run it as the user who owns this file.`,
    );
    await expect(Promise.resolve().then(() => tokens.set('session', 'token-2'))).rejects.toThrow(TokenFileError);
    await expect(Promise.resolve().then(() => tokens.delete('session'))).rejects.toThrow(TokenFileError);
    expect(readFileSync(file, 'utf8')).toBe('{"session":"token-1"}');
    vi.restoreAllMocks();
    expect(await fileTokenStore(file).get('session')).toBe('token-1');
  });
});

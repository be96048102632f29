import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileTokenStore, TokenFileError } from '../client/node.js';

/** A CLI's tokens on disk (`fileTokenStore`): only its user can read them, a write is all or nothing, a stranger's file is never used or overwritten. */
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-tokens-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

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
});

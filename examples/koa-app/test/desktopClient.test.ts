import { memoryTokenStore } from 'koa-gatehouse/client/node';
import { expect, it } from 'vitest';
import { sealedTokens } from '../snippets/desktopClient.js';

// The README's desktop client keeps tokens sealed by Electron's safeStorage: here a stand-in that reverses bytes.
const reversing = {
  encryptString: (plainText: string) => Buffer.from(plainText, 'utf8').reverse(),
  decryptString: (encrypted: Buffer) => Buffer.from(encrypted).reverse().toString('utf8'),
};

it('sealed tokens: the inner store never holds the token itself, and reading gives it back', async () => {
  const inner = memoryTokenStore();
  const tokens = sealedTokens(inner, reversing);
  await tokens.set('session', 'abc.def');
  expect(await inner.get('session')).toBe(Buffer.from('fed.cba').toString('base64'));
  expect(await tokens.get('session')).toBe('abc.def');
  await tokens.delete('session');
  expect([await tokens.get('session'), await inner.get('session')]).toEqual([undefined, undefined]);
});

import { existsSync } from 'node:fs';

/** Debian's Chromium, driven by playwright-core: never a downloaded browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The flags every browser test launches with. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Whether the browser is there. In CI a missing browser fails the suite (never a silent skip); locally the
 * file's tests are skipped with a warning naming the fix.
 */
export function haveChromium(file: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `\n\n  !!! ${CHROMIUM} not found: the real-browser tests cannot run. Install it with: apt-get install chromium\n`;
  if (process.env.CI) throw new Error(message);
  console.warn(`${message}  !!! Skipping ${file} locally.\n`);
  return false;
}

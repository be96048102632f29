import { execFileSync } from 'node:child_process';

/**
 * The bench's Redis, through redis-cli: a database of its own (default 9)
 * so it never touches other users' keys, and only Gatehouse's namespace in
 * it is ever deleted (never FLUSHALL/FLUSHDB).
 */
export class RedisProbe {
  readonly #args: string[];

  constructor(readonly url: string) {
    const parsed = new URL(url);
    const db = parsed.pathname.slice(1) || '0';
    this.#args = ['-h', parsed.hostname, '-p', parsed.port || '6379', '-n', db];
  }

  #cli(...args: string[]): string {
    return execFileSync('redis-cli', [...this.#args, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 256 * 1024 * 1024 });
  }

  available(): boolean {
    try {
      return this.#cli('PING').trim() === 'PONG';
    } catch {
      return false;
    }
  }

  usedMemory(): number {
    const match = /used_memory:(\d+)/.exec(this.#cli('INFO', 'memory'));
    return match ? Number(match[1]) : NaN;
  }

  /** Deletes every key of Gatehouse's namespace in the bench database; answers how many. */
  cleanup(): number {
    const keys = this.#cli('--scan', '--pattern', 'gatehouse:*').split('\n').filter(Boolean);
    for (let i = 0; i < keys.length; i += 1000) this.#cli('UNLINK', ...keys.slice(i, i + 1000));
    return keys.length;
  }
}

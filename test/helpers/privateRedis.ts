import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './freePort.js';
import { rawRedis } from './rawRedis.js';

/**
 * A redis-server of the test's own on a free loopback port, to stop,
 * freeze and restart. The machine's shared Redis is never touched.
 */
export class PrivateRedis {
  readonly port: number;
  readonly url: string;
  readonly #dir: string;
  #process: ChildProcess | undefined;

  readonly #extraArgs: string[];

  private constructor(port: number, password?: string) {
    this.port = port;
    this.url = password ? `redis://default:${encodeURIComponent(password)}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`;
    this.#extraArgs = password ? ['--requirepass', password] : [];
    this.#dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-'));
  }

  /** `password`: the server requires it (`--requirepass`), and `url` carries it. */
  static async start(options: { password?: string } = {}): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort(), options.password);
    await redis.#spawn();
    return redis;
  }

  async #spawn(): Promise<void> {
    // No automatic snapshots; `stop()` saves once so a restart finds the same sessions.
    this.#process = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.#dir, ...this.#extraArgs],
      { stdio: 'ignore' },
    );
    for (let attempt = 0; attempt < 100; attempt += 1) {
      try {
        const client = await rawRedis(this.url);
        await client.close();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    throw new Error(`private redis-server on port ${this.port} did not start`);
  }

  /** SIGSTOP: the TCP port stays open, nothing answers. */
  freeze(): void {
    this.#process?.kill('SIGSTOP');
  }

  thaw(): void {
    this.#process?.kill('SIGCONT');
  }

  /** Saves the data set, then stops the server (the port refuses connections). */
  async stop(): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    const client = await rawRedis(this.url);
    await client.command(['SHUTDOWN', 'SAVE']).catch(() => undefined);
    await client.close().catch(() => undefined);
    await exited;
    this.#process = undefined;
  }

  /** Starts again on the same port with the saved data. */
  async restart(): Promise<void> {
    await this.#spawn();
  }

  async destroy(): Promise<void> {
    const child = this.#process;
    if (child && child.exitCode === null) {
      child.kill('SIGCONT');
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    this.#process = undefined;
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

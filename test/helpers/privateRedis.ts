import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './freePort.js';
import { own } from './ownedProcesses.js';
import { rawRedis } from './rawRedis.js';

export interface PrivateRedisOptions {
  /** The server requires it (`--requirepass`, and `--masterauth` for replication), and `url` carries it. */
  password?: string;
  /** More `redis-server` arguments (cluster mode, persistence, `--replicaof` …). */
  args?: (dir: string) => string[];
  /** A port chosen by the caller (default: a free one). */
  port?: number;
}

/**
 * A redis-server of the test's own on a free loopback port, to stop,
 * freeze, kill and restart. The machine's shared Redis is never touched:
 * every signal goes to this object's own child process, by its pid.
 */
export class PrivateRedis {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly #args: string[];
  #process: ChildProcess | undefined;
  #frozen = false;

  private constructor(port: number, options: PrivateRedisOptions) {
    this.port = port;
    this.url = options.password ? `redis://default:${encodeURIComponent(options.password)}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`;
    this.dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-'));
    this.#args = [
      ...(options.password ? ['--requirepass', options.password, '--masterauth', options.password] : []),
      ...(options.args?.(this.dir) ?? []),
    ];
  }

  static async start(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
    const redis = new PrivateRedis(options.port ?? (await freePort()), options);
    await redis.#spawn();
    return redis;
  }

  /** The server's pid while it runs. */
  get pid(): number | undefined {
    return this.#process?.exitCode === null ? this.#process.pid : undefined;
  }

  get running(): boolean {
    return this.pid !== undefined;
  }

  /** Stopped with SIGSTOP and not yet thawed: connections to it hang. */
  get frozen(): boolean {
    return this.#frozen && this.running;
  }

  async #spawn(): Promise<void> {
    // No automatic snapshots unless `args` asks; `stop()` saves once so a restart finds the same sessions.
    this.#process = own(
      spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, ...this.#args], {
        stdio: 'ignore',
      }),
    );
    for (let attempt = 0; attempt < 200; attempt += 1) {
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
    this.#frozen = true;
  }

  thaw(): void {
    this.#process?.kill('SIGCONT');
    this.#frozen = false;
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

  /** SIGKILL, as a crash: nothing is saved beyond what the server had already written (AOF, if `args` turned it on). */
  async kill(): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
    this.#process = undefined;
    this.#frozen = false;
  }

  /** Starts again on the same port with the data it saved (or its AOF). */
  async restart(): Promise<void> {
    await this.#spawn();
  }

  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { own } from '../helpers/ownedProcesses.js';

/** Log lines kept per process, for a report that must show what a process said around a failure. */
const KEPT_LINES = 400;
const START_TIMEOUT_MS = 60_000;

/**
 * One reference-server process (`server/reference/main.ts`) on a fixed
 * port, so a client keeps its address across a kill and a restart. Only
 * this object's own child is ever signalled, by its pid.
 */
export class GatehouseProcess {
  readonly port: number;
  readonly url: string;
  readonly #env: Record<string, string>;
  readonly #lines: string[] = [];
  #child: ChildProcess | undefined;

  private constructor(port: number, env: Record<string, string>) {
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.#env = env;
  }

  static async start(port: number, env: Record<string, string>): Promise<GatehouseProcess> {
    const gatehouse = new GatehouseProcess(port, env);
    await gatehouse.#spawn();
    return gatehouse;
  }

  get pid(): number | undefined {
    return this.#child?.exitCode === null ? this.#child.pid : undefined;
  }

  /** The last log lines (JSON) it wrote. */
  recentOutput(): string {
    return this.#lines.join('\n');
  }

  async #spawn(): Promise<void> {
    const child = own(
      spawn(process.execPath, ['--import', 'tsx', 'server/reference/main.ts'], {
        env: { ...process.env, NODE_ENV: 'test', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...this.#env, PORT: String(this.port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    this.#child = child;
    const keep = (line: string) => {
      this.#lines.push(line);
      if (this.#lines.length > KEPT_LINES) this.#lines.shift();
    };
    createInterface({ input: child.stderr! }).on('line', keep);
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gatehouse on port ${this.port} did not start:\n${this.recentOutput()}`)), START_TIMEOUT_MS);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`gatehouse on port ${this.port} exited with ${code}:\n${this.recentOutput()}`));
      });
      lines.on('line', (line) => {
        keep(line);
        if (line.includes('"event":"server.listening"')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  /** `kill -9`: requests in flight get no answer. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts it again on the same port; resolves once it listens. */
  async restart(): Promise<void> {
    await this.#spawn();
  }

  /** SIGTERM: finishes what is in flight, closes the store, exits. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
}

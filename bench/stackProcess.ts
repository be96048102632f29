import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { StackRoutes } from './stacks/announce.js';

export interface StackSpec {
  /** Name in the tables. */
  name: string;
  /** File under bench/stacks/. */
  file: string;
  env?: Record<string, string>;
  /** Extra node flags (heap size for the 1M-session run). */
  nodeFlags?: string[];
  /** How the read load presents its session: the cookie (default) or `Authorization: Bearer` (needs bearer on). */
  credential?: 'cookie' | 'bearer';
}

export interface RunningStack extends StackRoutes {
  spec: StackSpec;
  origin: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

const STACKS_DIR = fileURLToPath(new URL('./stacks/', import.meta.url));

/**
 * Starts one stack as its own Node process, pinned to `cpu` when given
 * (taskset), and waits for its ready line. Servers listen on 127.0.0.1 only.
 */
export async function startStack(spec: StackSpec, cpu: number | undefined, extraFlags: string[] = []): Promise<RunningStack> {
  const nodeArgs = ['--expose-gc', ...(spec.nodeFlags ?? []), ...extraFlags, '--import', 'tsx', `${STACKS_DIR}${spec.file}`];
  const [command, args] = cpu === undefined ? [process.execPath, nodeArgs] : ['taskset', ['-c', String(cpu), process.execPath, ...nodeArgs]];
  const child = spawn(command, args, {
    env: { ...process.env, NODE_ENV: 'production', ...spec.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<StackRoutes & { port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${spec.name}: no ready line within 30 s`)), 30_000);
    child.once('exit', (code) => reject(new Error(`${spec.name}: exited with ${code} before it was ready`)));
    lines.on('line', (line) => {
      try {
        const message = JSON.parse(line) as { ready?: boolean; port: number } & StackRoutes;
        if (message.ready) {
          clearTimeout(timer);
          // From here on stdout is the server's log: drained, not parsed (as a log shipper's pipe would take it).
          lines.close();
          child.stdout!.resume();
          resolve(message);
        }
      } catch {
        // not our line: a library printing to stdout
      }
    });
  });
  return {
    spec,
    read: ready.read,
    login: ready.login,
    seed: ready.seed,
    readsOnly: ready.readsOnly,
    origin: `http://127.0.0.1:${ready.port}`,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

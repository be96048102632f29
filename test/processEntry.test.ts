import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';

/** Starts `server/reference/main.ts` as a real process and resolves its URL once it listens. */
function startMain(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/reference/main.ts'], {
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', PORT: '0', SESSION_STORE_URL: 'memory://', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
      if (match) resolve({ child, url: match[1]!, output: () => output });
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`server exited early with ${code}:\n${output}`)));
  });
}

describe('the server process', () => {
  it('on SIGTERM stops accepting, finishes the request in flight, closes the store and exits 0', async () => {
    const { child, url, output } = await startMain({});
    const { port } = new URL(url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let response = '';
    socket.on('data', (chunk: Buffer) => (response += chunk.toString()));
    // Half a request: the server has it in flight when the signal arrives.
    socket.write('POST /trpc/auth.logout HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{');
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await expect.poll(() => output().includes('"event":"server.stopping"'), { timeout: 10_000 }).toBe(true);
    socket.write('}');
    await expect.poll(() => response, { timeout: 10_000 }).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(await exited).toBe(0);
    expect(output()).toContain('"event":"server.stopped"');
    socket.destroy();
  });
});

describe('npm start in development', () => {
  it('warns that generated keys do not survive a restart, and prints how to create a user', async () => {
    const { child, output } = await startMain({ NODE_ENV: 'development', SESSION_KEYS: '' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await expect.poll(() => output(), { timeout: 10_000 }).toContain('curl -c jar');
      expect(output()).toContain('SESSION_KEYS is not set: generated a random key. Sessions will not survive a restart unless SESSION_KEYS is set.');
      expect(output()).toMatch(/trpc\/auth\.register/);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});

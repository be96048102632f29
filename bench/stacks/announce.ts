import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What every bench stack serves: the same two routes, the same payloads. */
export interface StackRoutes {
  /** Authenticated read (GET, with the session cookie). */
  read: string;
  /** Session creation (POST, JSON `{"username": …}`), no password hash. */
  login: string;
  /** Bench-only seeding/heap endpoints exist (Gatehouse stacks). */
  seed?: boolean;
  /** Reads only: `login` is a real sign-in with a password (one argon2 hash), measured no further. */
  readsOnly?: boolean;
}

/** Same user shape and read answer for every stack. */
export const benchUser = (username: string) => ({ id: `u-${username}`, username, role: 'user' as const });
export const readAnswer = (user: { id: string; username: string; role: string }) => ({
  message: `Hello, ${user.username}. This answer needed a live session.`,
  user,
});

/**
 * Listens on 127.0.0.1 (never another interface) on a free port and tells
 * the runner where, as one JSON line on stdout.
 */
export async function announce(server: Server, routes: StackRoutes): Promise<void> {
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ ready: true, port, ...routes })}\n`);
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

/** Reads a small JSON request body (bench payloads only). */
export async function readJson(req: AsyncIterable<Buffer>): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

export const usernameOf = (body: Record<string, unknown>) => (typeof body.username === 'string' ? body.username : 'bench-user');

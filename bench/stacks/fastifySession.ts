import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify from 'fastify';
import { createServer, type Server } from 'node:http';
import { announce, benchUser, readAnswer } from './announce.js';

/** fastify 5 + @fastify/session with its memory store. */
type BenchUser = ReturnType<typeof benchUser>;
let server: Server | undefined;
const app = Fastify({
  logger: false,
  serverFactory: (handler) => {
    server = createServer(handler);
    return server;
  },
});
await app.register(fastifyCookie);
await app.register(fastifySession, {
  secret: 'bench-key-0123456789-abcdefghijklmnopqrstuvwxyz',
  cookie: { secure: false, httpOnly: true, sameSite: 'lax' },
  saveUninitialized: false,
});
app.post('/login', async (request) => {
  const body = request.body as { username?: unknown } | undefined;
  const user = benchUser(typeof body?.username === 'string' ? body.username : 'bench-user');
  request.session.set('user' as never, user as never);
  return { user };
});
app.get('/data', async (request, reply) => {
  const user = request.session.get('user' as never) as BenchUser | undefined;
  if (!user) return reply.code(401).send();
  return readAnswer(user);
});
await app.ready();
await announce(server!, { read: '/data', login: '/login' });

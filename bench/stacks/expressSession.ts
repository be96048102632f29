import { createServer } from 'node:http';
import express from 'express';
import session from 'express-session';
import { announce, benchUser, readAnswer } from './announce.js';

/** express 5 + express-session with its MemoryStore. */
type BenchUser = ReturnType<typeof benchUser>;
const sessionOf = (req: express.Request) => (req as unknown as { session: { user?: BenchUser } }).session;
const app = express();
app.use(express.json());
app.use(
  session({
    secret: 'bench-key-0123456789-abcdefghijklmnopqrstuvwxyz',
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax' },
  }),
);
app.post('/login', (req, res) => {
  const body = req.body as { username?: unknown } | undefined;
  const user = benchUser(typeof body?.username === 'string' ? body.username : 'bench-user');
  sessionOf(req).user = user;
  res.json({ user });
});
app.get('/data', (req, res) => {
  const user = sessionOf(req).user;
  if (!user) {
    res.status(401).end();
    return;
  }
  res.json(readAnswer(user));
});
await announce(createServer(app), { read: '/data', login: '/login' });

import { createServer } from 'node:http';
import { getIronSession } from 'iron-session';
import { announce, benchUser, readAnswer, readJson, usernameOf } from './announce.js';

/** iron-session 8 on node:http: the session sealed into the cookie itself, no store. */
type BenchUser = ReturnType<typeof benchUser>;
const options = { password: 'bench-key-0123456789-abcdefghijklmnopqrstuvwxyz', cookieName: 'iron', cookieOptions: { secure: false } };
const server = createServer((req, res) => {
  void (async () => {
    const session = await getIronSession<{ user?: BenchUser }>(req, res, options);
    if (req.url === '/login' && req.method === 'POST') {
      const user = benchUser(usernameOf(await readJson(req)));
      session.user = user;
      await session.save();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ user }));
    } else if (req.url === '/data') {
      if (!session.user) {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(readAnswer(session.user)));
    } else {
      res.writeHead(404).end();
    }
  })().catch(() => {
    res.writeHead(500).end();
  });
});
await announce(server, { read: '/data', login: '/login' });

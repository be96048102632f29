import { createServer } from 'node:http';
import { announce, benchUser, readAnswer } from './announce.js';

/** The ceiling: node:http, no framework, no session (the read answers a constant user). */
const user = benchUser('bench-user');
const server = createServer((req, res) => {
  if (req.url === '/login' && req.method === 'POST') {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ user }));
    });
    return;
  }
  if (req.url === '/data') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(readAnswer(user)));
    return;
  }
  res.writeHead(404).end();
});
await announce(server, { read: '/data', login: '/login' });

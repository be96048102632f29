/**
 * Issue 9's account races, played many times against a running server (no
 * gates: real concurrency), to count what users would see. Not a test:
 * the deterministic versions are test/accountRaces*.test.ts.
 *
 *   npx tsx bench/accountRace.ts --url=http://127.0.0.1:3000 --rounds=50 [--cli=/path/to/checkout]
 *
 * Password race: two sessions of one user change the password at once, to
 * different values. A round is wrong when an answer of 200 does not leave
 * its password in effect or its rotated cookie dead, when a refused change
 * left its password in effect, or when both report success.
 *
 * Role race (with --cli, whose SESSION_* environment must name the server's
 * store): `npm run users -- set-role NAME user` runs in the checkout given
 * while the user changes the password in a loop; a round is wrong when the
 * stored role is not `user` afterwards.
 */
import { spawn } from 'node:child_process';

const args = new Map(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=') as [string, string]));
const base = args.get('url') ?? 'http://127.0.0.1:3000';
const rounds = Number(args.get('rounds') ?? 50);
const cli = args.get('cli');
const run = Date.now().toString(36);
const oldPassword = 'correct horse battery';

async function call(path: string, body?: unknown, cookie?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (cookie) headers.cookie = cookie;
  const res = await fetch(`${base}/trpc/${path}`, body === undefined ? { headers } : { method: 'POST', headers, body: JSON.stringify(body) });
  const cookies = res.headers.getSetCookie().map((line) => line.split(';')[0]!).filter((pair) => !pair.endsWith('='));
  return { status: res.status, cookie: cookies[0], json: (await res.json()) as { result?: { data?: { user?: { role?: string } } } } };
}
const works = async (cookie: string | undefined) => cookie !== undefined && (await call('data', undefined, cookie)).status === 200;
const inEffect = async (username: string, password: string) => (await call('auth.login', { username, password })).status === 200;

async function passwordRound(i: number): Promise<string | undefined> {
  const username = `race-${run}-${i}`;
  const a = (await call('auth.register', { username, password: oldPassword })).cookie!;
  const b = (await call('auth.login', { username, password: oldPassword })).cookie!;
  const [resA, resB] = await Promise.all([
    call('auth.changePassword', { currentPassword: oldPassword, newPassword: 'password of device A' }, a),
    call('auth.changePassword', { currentPassword: oldPassword, newPassword: 'password of device B' }, b),
  ]);
  const outcome = [
    { name: 'A', res: resA, password: 'password of device A' },
    { name: 'B', res: resB, password: 'password of device B' },
  ];
  const problems: string[] = [];
  if (resA.status === 200 && resB.status === 200) problems.push('both answered 200');
  for (const { name, res, password } of outcome) {
    const effective = await inEffect(username, password);
    if (res.status === 200 && !effective) problems.push(`${name} answered 200 but its password is not in effect`);
    if (res.status === 200 && !(await works(res.cookie))) problems.push(`${name} answered 200 but its new cookie is dead`);
    if (res.status !== 200 && effective) problems.push(`${name} answered ${res.status} but its password is in effect`);
  }
  return problems.length ? `round ${i}: ${problems.join('; ')} (A ${resA.status}, B ${resB.status})` : undefined;
}

function users(argv: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', 'users', '--', ...argv], { cwd: cli, env: process.env });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('close', () => resolve(out.trim()));
  });
}

async function roleRound(i: number): Promise<string | undefined> {
  const username = `role-${run}-${i}`;
  const passwords = [oldPassword, 'second password 2'];
  await call('auth.register', { username, password: oldPassword });
  await users(['set-role', username, 'admin']);
  let cookie = (await call('auth.login', { username, password: oldPassword })).cookie;
  let done = false;
  const demotion = users(['set-role', username, 'user']).then((out) => {
    done = true;
    return out;
  });
  let current = 0;
  while (!done) {
    const res = await call('auth.changePassword', { currentPassword: passwords[current % 2], newPassword: passwords[(current + 1) % 2] }, cookie);
    if (res.status === 200) {
      current += 1;
      cookie = res.cookie;
    } else {
      cookie = (await call('auth.login', { username, password: passwords[current % 2] })).cookie;
      if (!cookie) break;
    }
  }
  const printed = await demotion;
  // Whichever password is in effect now: the role is what the next login gets.
  let login = await call('auth.login', { username, password: passwords[0] });
  if (login.status !== 200) login = await call('auth.login', { username, password: passwords[1] });
  const role = login.json.result?.data?.user?.role;
  return role === 'user' ? undefined : `round ${i}: the CLI printed "${printed}" but the next login's role is ${role ?? `(login ${login.status})`}`;
}

const passwordProblems: string[] = [];
for (let i = 0; i < rounds; i += 1) {
  const problem = await passwordRound(i);
  if (problem) passwordProblems.push(problem);
}
console.log(`password race: ${rounds} rounds, ${passwordProblems.length} wrong`);
for (const problem of passwordProblems.slice(0, 5)) console.log(`  ${problem}`);

if (cli) {
  const roleRounds = Math.max(1, Math.round(rounds / 5));
  const roleProblems: string[] = [];
  for (let i = 0; i < roleRounds; i += 1) {
    const problem = await roleRound(i);
    if (problem) roleProblems.push(problem);
  }
  console.log(`role race: ${roleRounds} rounds, ${roleProblems.length} wrong`);
  for (const problem of roleProblems.slice(0, 5)) console.log(`  ${problem}`);
}

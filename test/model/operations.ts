import fc from 'fast-check';
import { accountActions } from '../../server/accounts/accountActions.js';
import { publicIdOf } from '../../server/session/sessionId.js';
import { type CheckerApps, IDLE_MS } from './checkerApps.js';

/** How many browsers of the user under test take part: enough for "another tab" and "another device". */
export const CLIENTS = 3;

/** A session operation the checker can play; `via` is the Gatehouse instance that serves it. */
export type OperationSpec =
  | { kind: 'login' | 'reauthenticate' | 'rotate' | 'mark' | 'read' | 'logout' | 'revokeOthers' | 'changePassword'; client: number; via: number }
  | { kind: 'revoke'; client: number; target: number; via: number }
  | { kind: 'setRole'; role: 'user' | 'admin'; via: number }
  | { kind: 'disable' | 'enable' | 'delete' | 'revokeAll'; via: number }
  | { kind: 'sweep'; via: number }
  | { kind: 'advance'; ms: number };

/** What a user's browser does that reaches a session (one request each). */
const clientKinds = ['login', 'reauthenticate', 'rotate', 'mark', 'read', 'logout', 'revokeOthers', 'changePassword'] as const;

export type OperationKind = OperationSpec['kind'];

/**
 * Focused searches: the whole mix finds most holes, but a hole that needs two
 * particular operations at one particular moment hides among the others.
 * Each profile narrows the operations to a family of races.
 */
export const PROFILES: Readonly<Record<string, readonly OperationKind[] | undefined>> = {
  all: undefined,
  'end-all vs creation': ['login', 'rotate', 'reauthenticate', 'revokeAll', 'revokeOthers', 'setRole', 'changePassword', 'read'],
  'logout vs rotation': ['logout', 'rotate', 'reauthenticate', 'mark', 'read', 'revoke'],
  updates: ['mark', 'read', 'advance', 'rotate', 'revokeOthers'],
  cap: ['login', 'rotate', 'reauthenticate', 'logout', 'read', 'sweep'],
};

/** The operations of one run: a handful, so interleavings (not volume) are what varies. `kinds` narrows them (a focused search). */
export function operationsArbitrary(options: { withDelete?: boolean; kinds?: readonly OperationKind[] } = {}): fc.Arbitrary<OperationSpec[]> {
  const client = fc.integer({ min: 0, max: CLIENTS - 1 });
  const via = fc.integer({ min: 0, max: 1 });
  const operation: fc.Arbitrary<OperationSpec> = fc.oneof(
    { weight: 12, arbitrary: fc.record({ kind: fc.constantFrom(...clientKinds), client, via }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('revoke' as const), client, target: client, via }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('setRole' as const), role: fc.constantFrom('user' as const, 'admin' as const), via }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('disable' as const, 'enable' as const, 'revokeAll' as const), via }) },
    { weight: options.withDelete ? 1 : 0, arbitrary: fc.record({ kind: fc.constant('delete' as const), via }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('sweep' as const), via }) },
    // A minute (an idle extension falls due) or past the idle timeout (every untouched session and tombstone expires).
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(60_000, IDLE_MS + 1) }) },
  );
  const kinds = options.kinds;
  const chosen = kinds ? operation.filter((spec) => kinds.includes(spec.kind)) : operation;
  return fc.array(chosen, { minLength: 2, maxLength: 6 });
}

export const describeOperation = (spec: OperationSpec): string => {
  switch (spec.kind) {
    case 'advance':
      return `advance(${spec.ms / 60_000} min)`;
    case 'setRole':
      return `setRole(${spec.role})@${spec.via ? 'B' : 'A'}`;
    case 'revoke':
      return `c${spec.client}.revoke(c${spec.target})@${spec.via ? 'B' : 'A'}`;
    case 'disable':
    case 'enable':
    case 'delete':
    case 'revokeAll':
    case 'sweep':
      return `${spec.kind}@${spec.via ? 'B' : 'A'}`;
    default:
      return `c${spec.client}.${spec.kind}@${spec.via ? 'B' : 'A'}`;
  }
};

/** What an operation saw: its HTTP status (or its direct result), and the session cookie its answer left. */
export interface Outcome {
  readonly status: number;
  readonly body: unknown;
  /** The session cookie's value the answer set (`<id>.<signature>`); `null`: cleared; `undefined`: untouched. */
  readonly cookie: string | null | undefined;
}

/** The world an operation acts on: the apps, the user under test, and each browser's cookie. */
export interface World {
  readonly apps: CheckerApps;
  readonly username: string;
  readonly cookies: (string | undefined)[];
  /** The password the checker believes is current (the last acknowledged change's). */
  password: string;
}

const post = (path: string) => ({ path, method: 'POST' as const });
const queries = { read: { path: 'read', method: 'GET' as const }, me: { path: 'auth.me', method: 'GET' as const } };

/** Runs one operation: over HTTP as a browser for the browser kinds, through `accountActions` (as the admin CLI does) for an administrator's. */
export async function perform(world: World, spec: OperationSpec, op: number, input: string | undefined): Promise<Outcome> {
  const { apps } = world;
  if (spec.kind === 'advance') {
    apps.clock.advance(spec.ms);
    return { status: 200, body: null, cookie: undefined };
  }
  const instance = apps.instances[spec.via]!;
  const services = instance.gatehouse.services;
  const direct = async (run: () => Promise<unknown>): Promise<Outcome> => {
    try {
      return { status: 200, body: await run(), cookie: undefined };
    } catch (error) {
      return { status: 500, body: String(error), cookie: undefined };
    }
  };
  switch (spec.kind) {
    case 'sweep':
      return direct(() => instance.gatehouse.sweeper.sweepNow());
    case 'setRole':
    case 'disable':
    case 'enable':
    case 'delete':
    case 'revokeAll':
      return direct(async () => {
        const account = await services.accounts.findByLogin!(world.username);
        if (!account) return 'no-account';
        if (spec.kind === 'setRole') return accountActions.setRole(services, account, spec.role);
        if (spec.kind === 'disable') return accountActions.disable(services, account);
        if (spec.kind === 'enable') return accountActions.enable(services, account);
        if (spec.kind === 'delete') return accountActions.delete(services, account, world.username);
        return accountActions.revokeSessions(services, account);
      });
    default:
      break;
  }
  const password = world.password;
  const call = {
    login: { ...post('auth.login'), body: { username: world.username, password } },
    reauthenticate: { ...post('auth.reauthenticate'), body: { password } },
    rotate: { ...post('rotate'), body: {} },
    mark: { ...post('mark'), body: { mark: `m${op}` } },
    read: queries.read,
    logout: { ...post('auth.logout'), body: {} },
    revokeOthers: { ...post('sessions.revokeOthers'), body: {} },
    changePassword: { ...post('auth.changePassword'), body: { currentPassword: password, newPassword: `password of op ${op}` } },
    revoke: { ...post('sessions.revoke'), body: { id: '' } },
  }[spec.kind];
  if (spec.kind === 'revoke') {
    const target = world.cookies[spec.target];
    (call as { body: unknown }).body = { id: target ? publicIdOf(idOf(target)) : 'nobody-nobody-nobody' };
  }
  const headers: Record<string, string> = { 'x-model-op': String(op) };
  if (input) headers.cookie = `sid=${input}`;
  if ('body' in call) headers['content-type'] = 'application/json';
  const res = await fetch(`${instance.url}/trpc/${call.path}`, { method: call.method, headers, ...('body' in call ? { body: JSON.stringify(call.body) } : {}) });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body, cookie: sessionCookieOf(res.headers.getSetCookie()) };
}

/** The raw session id in a cookie value. */
export const idOf = (cookie: string) => cookie.split('.')[0]!;

/** The `sid` cookie's value an answer set (`null` when it cleared it). */
function sessionCookieOf(lines: string[]): string | null | undefined {
  let found: string | null | undefined;
  for (const line of lines) {
    if (!line.startsWith('sid=')) continue;
    const value = line.slice(4, line.indexOf(';') === -1 ? undefined : line.indexOf(';'));
    found = value === '' ? null : value;
  }
  return found;
}

import { publicIdOf, storeKeyOf } from '../../server/session/sessionId.js';
import { CAP, IDLE_MS } from './checkerApps.js';
import { describeOperation, idOf, type OperationSpec, type Outcome, type World } from './operations.js';
import type { TraceEntry } from './storeGate.js';
import { storeSecretIn, userKeysOf } from '../helpers/storeSecret.js';

/** One operation as it ran: when (scheduler steps and the checker's clock), with which cookie, and what it saw. */
export interface Played {
  readonly op: number;
  readonly spec: OperationSpec;
  /** Steps: `end < other.start` means this one had answered before the other began. */
  readonly start: number;
  readonly end: number;
  readonly clockAtStart: number;
  readonly clockAtEnd: number;
  /** The cookie the browser sent (browser operations). */
  readonly input: string | undefined;
  /** `revoke`: the cookie of the browser whose session it names. */
  readonly target: string | undefined;
  readonly outcome: Outcome;
}

/** A session the run saw: the raw id of a cookie some answer set. */
interface SessionNode {
  readonly id: string;
  /** The session this one is a rotation of. */
  readonly parent: string | undefined;
  /** The operation that issued it (0: the run's setup). */
  readonly born: Played | undefined;
}

const ROTATIONS = new Set(['reauthenticate', 'rotate', 'changePassword']);
const END_ALL = new Set(['revokeOthers', 'changePassword', 'setRole', 'disable', 'delete', 'revokeAll']);
/** Browser operations that act as the session they carry (a logout may reach a successor through a tombstone, so it is not one). */
const USES_SESSION = new Set(['reauthenticate', 'rotate', 'mark', 'read', 'revokeOthers', 'changePassword', 'revoke']);

/** An HTTP operation answered 200; an administrator's action found the account and acted (its result names it). */
const succeeded = (played: Played) =>
  played.outcome.status === 200 && (played.input !== undefined || played.spec.kind === 'login' || (typeof played.outcome.body === 'object' && played.outcome.body !== null));

/**
 * The reference model of one run: which sessions exist, how they descend
 * from each other, and which must be over (and from when) by the rules of
 * SECURITY.md L4, L5, L6, L8, L11 and L12. `violations()` compares it with
 * what the store holds at the end and with what every answer said.
 */
export class SessionModel {
  readonly #nodes = new Map<string, SessionNode>();
  readonly #played: Played[] = [];
  #entries: readonly TraceEntry[] = [];

  constructor(setupCookies: readonly (string | undefined)[]) {
    for (const cookie of setupCookies) if (cookie) this.#nodes.set(idOf(cookie), { id: idOf(cookie), parent: undefined, born: undefined });
  }

  record(played: Played): void {
    this.#played.push(played);
    const issued = played.outcome.cookie;
    if (!issued || (played.input !== undefined && idOf(issued) === idOf(played.input))) return;
    const isRotation = ROTATIONS.has(played.spec.kind) && played.input !== undefined;
    this.#nodes.set(idOf(issued), { id: idOf(issued), parent: isRotation ? idOf(played.input!) : undefined, born: played });
  }

  /**
   * Every problem found, each a sentence naming the operations involved.
   * `entries`: the store calls in the order they ran (step i + 1), which
   * say when an end-all moved the generation and when a login read it.
   */
  async violations(world: World, userId: string, entries: readonly TraceEntry[]): Promise<string[]> {
    this.#entries = entries;
    const problems: string[] = [];
    const sessions = world.apps.instances[0].gatehouse.services.sessions;
    const live = new Map<string, Awaited<ReturnType<typeof sessions.load>>>();
    for (const id of this.#nodes.keys()) {
      const loaded = await sessions.load(id);
      if (loaded) live.set(id, loaded);
    }
    const deadline = this.#mustBeDead();

    // No ended session answers again: not at the end, and not to any request sent after it ended.
    for (const [id, { after, because }] of deadline) {
      if (live.has(id)) problems.push(`session ${this.#name(id)} is still live at the end, though ${because} answered`);
      for (const played of this.#played) {
        if (played.input === undefined || idOf(played.input) !== id || !USES_SESSION.has(played.spec.kind)) continue;
        if (played.start > after && played.outcome.status !== 401) {
          problems.push(`${this.#describe(played)} answered ${played.outcome.status} with session ${this.#name(id)}, which ${because} had ended`);
        }
      }
    }

    // No acknowledged update lost or undone (L12), and no update in a session it was not made in.
    for (const [id, loaded] of live) {
      const marks = new Set((loaded!.record.data as { marks: string[] }).marks);
      const lineage = this.#lineage(id);
      for (const played of this.#played) {
        if (played.spec.kind !== 'mark' || played.input === undefined) continue;
        const mark = `m${played.op}`;
        const mine = lineage.has(idOf(played.input));
        if (mine && succeeded(played) && !marks.has(mark)) problems.push(`${this.#describe(played)} answered 200, but session ${this.#name(id)} (its successor or itself) lost ${mark}`);
        if (!mine && marks.has(mark)) problems.push(`session ${this.#name(id)} holds ${mark} of another session's ${this.#describe(played)}`);
      }
    }

    // No session carries an account state older than an acknowledged change; a disabled or deleted account keeps none.
    const account = await world.apps.instances[0].gatehouse.services.accounts.findById(userId);
    for (const [id, loaded] of live) {
      if (!account || account.disabled) problems.push(`session ${this.#name(id)} is live, but the account is ${account ? 'disabled' : 'deleted'}`);
      else if ((loaded!.record.user as unknown as { role: string }).role !== account.user.role) {
        problems.push(`session ${this.#name(id)} carries role ${(loaded!.record.user as unknown as { role: string }).role}, the account's is ${account.user.role}`);
      }
    }

    // The user's index lists exactly the live sessions, at most the cap.
    const listed = new Set((await sessions.listForUser(userId)).map((s) => s.publicId));
    const expected = new Set([...live.keys()].map(publicIdOf));
    if ([...listed].some((p) => !expected.has(p)) || [...expected].some((p) => !listed.has(p))) {
      problems.push(`sessions.list shows ${listed.size} sessions, ${live.size} are live`);
    }
    const { store } = world.apps.instances[0].gatehouse;
    const indexed = new Set((await store.mapGetAll(userKeysOf(await storeSecretIn(store), userId).sessions)).values());
    for (const id of live.keys()) if (!indexed.has(storeKeyOf(id))) problems.push(`live session ${this.#name(id)} is missing from the user's index (an end-all would miss it)`);
    if (live.size > CAP) problems.push(`${live.size} live sessions, the cap is ${CAP}`);

    // No operation answered success whose effect is absent: password changes (L10).
    const changes = this.#played.filter((p) => p.spec.kind === 'changePassword' && succeeded(p));
    for (const [i, a] of changes.entries()) {
      for (const b of changes.slice(i + 1)) {
        if (!(a.end < b.start || b.end < a.start)) problems.push(`${this.#describe(a)} and ${this.#describe(b)} ran at once and both answered 200`);
      }
    }
    const lastChange = changes.sort((a, b) => a.end - b.end).at(-1);
    if (account && lastChange && !(await world.apps.passwordIs(userId, `password of op ${lastChange.op}`))) {
      problems.push(`${this.#describe(lastChange)} answered 200, but its password is not the account's`);
    }
    return problems;
  }

  /**
   * The sessions that must be over, and from which step: the old id of a
   * rotation that answered; a logged-out or revoked session and every
   * rotation of it (through its tombstone while that lives); and, for an
   * end-all that answered, every session that existed before it began
   * and every rotation of one — except the session it kept for its caller.
   */
  #mustBeDead(): Map<string, { after: number; because: string }> {
    const dead = new Map<string, { after: number; because: string }>();
    const mark = (id: string, after: number, because: string) => {
      const known = dead.get(id);
      if (!known || known.after > after) dead.set(id, { after, because });
    };
    for (const played of this.#played) {
      if (!succeeded(played)) continue;
      const kind = played.spec.kind;
      const because = this.#describe(played);
      const input = played.input === undefined ? undefined : idOf(played.input);
      const issued = played.outcome.cookie ? idOf(played.outcome.cookie) : undefined;
      if (ROTATIONS.has(kind) && input && issued && issued !== input) mark(input, played.end, because);
      if (kind === 'logout' || kind === 'revoke') {
        const target = kind === 'logout' ? input : this.#targetOf(played);
        if (target) for (const id of this.#successors(target, played)) mark(id, played.end, because);
      }
      if (END_ALL.has(kind)) {
        const kept = kind === 'revokeOthers' ? input : kind === 'changePassword' ? issued : undefined;
        for (const node of this.#nodes.values()) {
          if (node.id !== kept && this.#existedBefore(node, played, kept)) mark(node.id, played.end, because);
        }
      }
    }
    return dead;
  }

  /**
   * Whether `node` existed, or was being created, when `endAll` took effect
   * (moved the user's generation): a session counts as being created from
   * the moment its creation read the generation. A rotation of such a
   * session (other than the kept one) is one too.
   */
  #existedBefore(node: SessionNode, endAll: Played, kept: string | undefined): boolean {
    if (node.born === undefined) return true;
    if (node.parent === undefined) return this.#birthStep(node) < this.#bumpStep(endAll);
    if (node.parent === kept) return false;
    return this.#existedBefore(this.#nodes.get(node.parent)!, endAll, kept);
  }

  /** The step at which an end-all moved the generation (its start, if the trace shows none). */
  #bumpStep(endAll: Played): number {
    const index = this.#entries.findIndex((entry) => entry.op === endAll.op && entry.method === 'increment' && entry.key.startsWith('sg:'));
    return index === -1 ? endAll.start : index + 1;
  }

  /** The step at which a login's session began: its creation's read of the generation, the last before its record was written. */
  #birthStep(node: SessionNode): number {
    const born = node.born!;
    const written = this.#entries.findIndex((entry) => entry.op === born.op && entry.method === 'set' && entry.key === storeKeyOf(node.id));
    for (let index = written - 1; index >= 0; index -= 1) {
      const entry = this.#entries[index]!;
      if (entry.op === born.op && entry.method === 'get' && entry.key.startsWith('sg:')) return index + 1;
    }
    return born.start;
  }

  /** `id` and its rotations, following each tombstone only while it lives (the idle timeout after its rotation). */
  #successors(id: string, ender: Played): string[] {
    const found = [id];
    for (const node of this.#nodes.values()) {
      if (node.parent !== id || !node.born) continue;
      if (ender.clockAtStart - node.born.clockAtEnd >= IDLE_MS) continue;
      found.push(...this.#successors(node.id, ender));
    }
    return found;
  }

  /** A session and every session it was rotated from. */
  #lineage(id: string): Set<string> {
    const lineage = new Set<string>();
    for (let at: string | undefined = id; at !== undefined; at = this.#nodes.get(at)?.parent) lineage.add(at);
    return lineage;
  }

  #targetOf(played: Played): string | undefined {
    return played.target === undefined ? undefined : idOf(played.target);
  }

  #name(id: string): string {
    const node = this.#nodes.get(id);
    if (!node?.born) return `${id.slice(0, 6)}… (from the setup)`;
    return `${id.slice(0, 6)}… (issued by ${this.#describe(node.born)})`;
  }

  #describe(played: Played): string {
    return `op${played.op} ${describeOperation(played.spec)} [steps ${played.start}–${played.end}]`;
  }
}

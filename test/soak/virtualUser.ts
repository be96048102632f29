import { publicIdOf } from '../../server/session/sessionId.js';
import type { Ledger } from './ledger.js';
import type { Random } from './random.js';
import { type Answer, call, resultOf } from './soakHttp.js';

/** One of the user's signed-in browsers: its cookie, and whether the client knows the session is live. */
interface Device {
  cookie: string;
  id: string;
  /** Acknowledged (a 200 gave it) and nothing since could have ended it. False after a state change answered 503 or not at all. */
  certain: boolean;
}

/** Live sessions one virtual user keeps at most (well under the per-user cap, so the cap never ends one). */
const MAX_DEVICES = 4;
/** Ended sessions kept for probing, per user (the newest). */
const MAX_ENDED = 12;

const idOf = (sid: string) => sid.slice(0, sid.lastIndexOf('.'));
const cookieOf = (sid: string) => `sid=${sid}`;

/**
 * A user of the API over real HTTP who keeps what a client can know: the
 * sessions it holds and whether each is certainly live, the sessions it
 * ended with an acknowledged logout, revocation or password change, and its
 * password (or, after a password change answered 503, the two it might be).
 * Every answer is checked against that knowledge and recorded in the ledger.
 */
export class VirtualUser {
  readonly username: string;
  readonly #servers: readonly string[];
  readonly #ledger: Ledger;
  readonly #random: Random;
  #devices: Device[] = [];
  #ended: string[] = [];
  /** Candidates, most likely first; more than one only while a password change is unconfirmed. */
  #passwords: string[];
  #changes = 0;

  constructor(username: string, servers: readonly string[], ledger: Ledger, random: Random) {
    this.username = username;
    this.#servers = servers;
    this.#ledger = ledger;
    this.#random = random;
    this.#passwords = [`first password of ${username}`];
  }

  #server(): string {
    return this.#random.pick(this.#servers);
  }

  async #call(procedure: string, options: Parameters<typeof call>[2] = {}): Promise<Answer> {
    const answer = await call(this.#server(), procedure, options);
    this.#ledger.record(procedure, answer.outcome, answer.ms);
    return answer;
  }

  /** Registers (or, if an unacknowledged registration went through, logs in) until it holds a session. */
  async start(stopped: () => boolean): Promise<void> {
    while (!stopped() && this.#devices.length === 0) {
      const answer = await this.#call('auth.register', { mutation: true, input: { username: this.username, password: this.#passwords[0] } });
      if (answer.outcome === 200 && answer.sid) this.#signedIn(answer.sid);
      else if (answer.outcome === 409 || answer.outcome === 400) await this.#login();
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** One action, chosen at random as a user would. */
  async step(): Promise<void> {
    if (this.#devices.length === 0) return this.#login();
    const full = this.#devices.length >= MAX_DEVICES;
    const action = this.#random.weighted({
      data: 30,
      me: 10,
      list: 10,
      login: full ? 0 : 12,
      logout: full ? 14 : 8,
      revoke: this.#devices.length > 1 ? 6 : 0,
      changePassword: 2,
      probeEnded: this.#ended.length > 0 ? 8 : 0,
    });
    switch (action) {
      case 'data':
        return this.#use('data');
      case 'me':
        return this.#use('auth.me');
      case 'list':
        return this.#use('sessions.list');
      case 'login':
        return this.#login();
      case 'logout':
        return this.#logout();
      case 'revoke':
        return this.#revoke();
      case 'changePassword':
        return this.#changePassword();
      case 'probeEnded':
        return this.#probeEnded();
    }
  }

  #signedIn(sid: string): void {
    this.#devices.push({ cookie: cookieOf(sid), id: idOf(sid), certain: true });
    this.#ledger.acknowledgedLogins += 1;
  }

  #endAcknowledged(device: Device): void {
    this.#devices = this.#devices.filter((d) => d !== device);
    // Only a session the client knew was live counts as "ended by an acknowledged action".
    if (!device.certain) return;
    this.#ended.push(device.cookie);
    if (this.#ended.length > MAX_ENDED) this.#ended.shift();
    this.#ledger.endedProbes += 1;
  }

  #forget(device: Device): void {
    this.#devices = this.#devices.filter((d) => d !== device);
  }

  #doubt(device: Device): void {
    if (device.certain) this.#ledger.uncertain += 1;
    device.certain = false;
  }

  /** A 200 that carries a new session id (rotation): the old cookie has ended, the device holds the new one. */
  #followRotation(device: Device, answer: Answer): void {
    if (answer.outcome !== 200 || !answer.sid) return;
    if (idOf(answer.sid) === device.id) {
      device.cookie = cookieOf(answer.sid);
      return;
    }
    const rotated: Device = { cookie: cookieOf(answer.sid), id: idOf(answer.sid), certain: device.certain };
    this.#endAcknowledged(device);
    this.#devices.push(rotated);
  }

  /** The session was refused (401, or `auth.me` said "none"). */
  #refused(device: Device, what: string): void {
    if (device.certain) this.#ledger.violate('lost', `${this.username}: ${what} refused a session acknowledged live`);
    this.#forget(device);
  }

  async #use(procedure: 'data' | 'auth.me' | 'sessions.list'): Promise<void> {
    const device = this.#random.pick(this.#devices);
    const answer = await this.#call(procedure, { cookie: device.cookie });
    if (answer.outcome === 401 || (procedure === 'auth.me' && answer.outcome === 200 && resultOf(answer.json) === null)) {
      return this.#refused(device, procedure);
    }
    if (answer.outcome !== 200) return;
    this.#followRotation(device, answer);
    if (procedure === 'sessions.list') {
      const listed = new Set(((resultOf(answer.json) ?? []) as { id: string }[]).map((s) => s.id));
      for (const live of this.#devices.filter((d) => d.certain)) {
        if (!listed.has(publicIdOf(live.id))) this.#ledger.violate('unlisted', `${this.username}: a live session is missing from sessions.list`);
      }
    }
  }

  async #login(): Promise<void> {
    for (const password of [...this.#passwords]) {
      const answer = await this.#call('auth.login', { mutation: true, input: { username: this.username, password } });
      if (answer.outcome === 200 && answer.sid) {
        this.#signedIn(answer.sid);
        // The password in effect is known again; the other candidate goes.
        if (this.#passwords.length > 1) this.#passwords = [password];
        return;
      }
      if (answer.outcome !== 401) return;
    }
    if (this.#passwords.length === 1) this.#ledger.violate('loginRefused', `${this.username}: login refused the password in effect`);
  }

  async #logout(): Promise<void> {
    const device = this.#devices.find((d) => !d.certain) ?? this.#random.pick(this.#devices);
    const answer = await this.#call('auth.logout', { mutation: true, cookie: device.cookie });
    if (answer.outcome === 200) this.#endAcknowledged(device);
    else this.#doubt(device);
  }

  /**
   * Runs a fresh-login procedure; on 412 PRECONDITION_FAILED re-authenticates once (`auth.reauthenticate`,
   * which may rotate the session) and tries again. Resolves the answer and the device it was sent with.
   */
  async #sensitive(device: Device, procedure: string, input: unknown): Promise<{ answer: Answer; device: Device }> {
    const answer = await this.#call(procedure, { mutation: true, cookie: device.cookie, input });
    if (answer.outcome !== 412) return { answer, device };
    const reauth = await this.#call('auth.reauthenticate', { mutation: true, cookie: device.cookie, input: { password: this.#passwords[0] } });
    if (reauth.outcome !== 200) return { answer: reauth, device };
    this.#followRotation(device, reauth);
    const current = (reauth.sid && this.#devices.find((d) => d.id === idOf(reauth.sid!))) || device;
    return { answer: await this.#call(procedure, { mutation: true, cookie: current.cookie, input }), device: current };
  }

  async #revoke(): Promise<void> {
    const from = this.#devices.find((d) => d.certain) ?? this.#devices[0]!;
    const target = this.#random.pick(this.#devices.filter((d) => d !== from));
    const { answer, device } = await this.#sensitive(from, 'sessions.revoke', { id: publicIdOf(target.id) });
    if (answer.outcome === 200) return this.#endAcknowledged(target);
    if (answer.outcome === 401) return this.#refused(device, 'sessions.revoke');
    if (answer.outcome === 404) {
      if (target.certain) this.#ledger.violate('lost', `${this.username}: sessions.revoke found no session acknowledged live`);
      return this.#forget(target);
    }
    if (answer.outcome === 503 || typeof answer.outcome !== 'number') this.#doubt(target);
  }

  async #changePassword(): Promise<void> {
    const chosen = this.#devices.find((d) => d.certain) ?? this.#devices[0]!;
    const current = this.#passwords[0]!;
    const next = `password ${(this.#changes += 1)} of ${this.username}`;
    const { answer, device } = await this.#sensitive(chosen, 'auth.changePassword', { currentPassword: current, newPassword: next });
    if (answer.outcome === 200) {
      this.#passwords = [next];
      for (const other of this.#devices.filter((d) => d !== device)) this.#endAcknowledged(other);
      this.#followRotation(device, answer);
      return;
    }
    if (answer.outcome === 401) return this.#refused(device, 'auth.changePassword');
    if (answer.outcome === 403) {
      // The current password was refused: the known one is a violation, a guess is tried the other way round next.
      if (this.#passwords.length === 1) this.#ledger.violate('loginRefused', `${this.username}: changePassword refused the password in effect`);
      else this.#passwords.push(this.#passwords.shift()!);
      return;
    }
    if (answer.outcome === 409) return this.#endAcknowledged(device);
    if (answer.outcome === 503 || typeof answer.outcome !== 'number') {
      // Unknown outcome: any session may have ended, and either password may be in effect.
      for (const d of this.#devices) this.#doubt(d);
      this.#passwords = [next, ...this.#passwords.filter((p) => p !== next)];
    }
  }

  /**
   * Checks everything the client knows at once (no other action of this
   * user runs meanwhile): every session acknowledged live answers 200, every
   * acknowledged end answers 401. A 503 is asked again (bounded).
   * Resolves how many sessions it checked.
   */
  async verify(): Promise<number> {
    let checked = 0;
    for (const device of this.#devices.filter((d) => d.certain)) {
      const answer = await this.#untilAnswered(device.cookie);
      if (answer.outcome === 401) this.#refused(device, 'verification');
      else if (answer.outcome === 200) this.#followRotation(device, answer);
      checked += 1;
    }
    for (const cookie of this.#ended) {
      if ((await this.#untilAnswered(cookie)).outcome === 200) {
        this.#ledger.violate('resurrected', `${this.username}: a session ended by an acknowledged action answered 200 at verification`);
      }
      checked += 1;
    }
    return checked;
  }

  async #untilAnswered(cookie: string): Promise<Answer> {
    let answer = await this.#call('data', { cookie });
    for (let attempt = 0; attempt < 200 && (answer.outcome === 503 || typeof answer.outcome !== 'number'); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      answer = await this.#call('data', { cookie });
    }
    return answer;
  }

  async #probeEnded(): Promise<void> {
    const cookie = this.#random.pick(this.#ended);
    const answer = await this.#call('data', { cookie });
    if (answer.outcome === 200) {
      this.#ledger.violate('resurrected', `${this.username}: a session ended by an acknowledged action answered 200`);
      this.#ended = this.#ended.filter((c) => c !== cookie);
    }
  }
}

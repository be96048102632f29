import { randomUUID } from 'node:crypto';
import type { Account, AccountsAdapter } from 'koa-gatehouse';
import type { Member } from './gatehouse.js';
import { hashPassword, verifyDummy, verifyPassword } from './passwords.js';

interface Row {
  member: Member;
  passwordHash: string;
  version: number;
  disabled: boolean;
}

/**
 * The shop's own user table: members with an email, a display name and a
 * role. In memory here to keep the example self-contained; in your app it
 * is your database table, behind the same few functions.
 */
export class MemberTable implements AccountsAdapter<Member> {
  readonly #rows = new Map<string, Row>();

  /** Opens the table (yours would connect to its database here). */
  static async create(): Promise<MemberTable> {
    return new MemberTable();
  }

  /** Adds a member (an admin script, a sign-up flow of the shop's own). */
  async add(email: string, name: string, password: string, role: Member['role'] = 'customer'): Promise<Member> {
    const member: Member = { id: randomUUID(), email: email.toLowerCase(), name, role };
    this.#rows.set(member.id, { member, passwordHash: await hashPassword(password), version: 1, disabled: false });
    return member;
  }

  async authenticate(login: string, password: string): Promise<Account<Member> | undefined> {
    const row = this.#byEmail(login);
    // An unknown email costs the same hash as a known one.
    const ok = row ? await verifyPassword(row.passwordHash, password) : await verifyDummy(password);
    return row && ok && !row.disabled ? this.#account(row) : undefined;
  }

  async findById(id: string): Promise<Account<Member> | undefined> {
    const row = this.#rows.get(id);
    return row ? this.#account(row) : undefined;
  }

  async findByLogin(login: string): Promise<Account<Member> | undefined> {
    const row = this.#byEmail(login);
    return row ? this.#account(row) : undefined;
  }

  async register(login: string, password: string): Promise<Account<Member> | 'taken'> {
    if (this.#byEmail(login)) return 'taken';
    const member = await this.add(login, login.split('@')[0] ?? login, password);
    return this.#account(this.#rows.get(member.id)!);
  }

  async verifyPassword(account: Account<Member>, password: string): Promise<boolean> {
    const row = this.#rows.get(account.user.id);
    return row !== undefined && (await verifyPassword(row.passwordHash, password));
  }

  /** One conditional write: only if nobody changed the member since `account` was read. */
  async changePassword(account: Account<Member>, newPassword: string): Promise<Account<Member> | 'conflict'> {
    const passwordHash = await hashPassword(newPassword);
    const row = this.#rows.get(account.user.id);
    if (!row || row.version !== account.version) return 'conflict';
    row.passwordHash = passwordHash;
    row.version += 1;
    return this.#account(row);
  }

  async setDisabled(id: string, disabled: boolean): Promise<Account<Member> | undefined> {
    const row = this.#rows.get(id);
    if (!row) return undefined;
    row.disabled = disabled;
    row.version += 1;
    return this.#account(row);
  }

  #byEmail(email: string): Row | undefined {
    const wanted = email.trim().toLowerCase();
    for (const row of this.#rows.values()) if (row.member.email === wanted) return row;
    return undefined;
  }

  #account(row: Row): Account<Member> {
    return { user: row.member, version: row.version, disabled: row.disabled };
  }
}

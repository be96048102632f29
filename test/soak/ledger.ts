import type { Outcome } from './soakHttp.js';

/** The invariants a run checks from the clients' side; each must end at zero. */
export const INVARIANTS = {
  serverError: '5xx answers other than 503',
  lost: 'acknowledged sessions lost without a logout, revocation, password change, expiry or failover',
  resurrected: 'ended sessions (logout, revocation, password change answered 200) that answered 200 again',
  unlisted: 'live sessions missing from their own sessions.list',
  loginRefused: 'logins refused with the password the client knows is in effect',
} as const;
export type Invariant = keyof typeof INVARIANTS;

export interface Violation {
  readonly invariant: Invariant;
  /** ms since the run started. */
  readonly at: number;
  readonly detail: string;
}

/** Everything the clients saw during one run: answers by status, latencies, violations. */
export class Ledger {
  readonly started = Date.now();
  readonly byOutcome = new Map<string, number>();
  readonly byCall = new Map<string, number>();
  readonly violations: Violation[] = [];
  /** Latencies of 503 answers and of 200 answers, ms. */
  readonly ms503: number[] = [];
  readonly ms200: number[] = [];
  /** The slowest 503 of each procedure, ms. */
  readonly slowest503 = new Map<string, number>();
  /** Sessions whose state the clients could no longer know (a state change answered 503 or not at all). */
  uncertain = 0;
  /** Sessions the clients ended and kept probing (each must stay 401). */
  endedProbes = 0;
  /** Acknowledged logins and registrations. */
  acknowledgedLogins = 0;

  now(): number {
    return Date.now() - this.started;
  }

  record(procedure: string, outcome: Outcome, ms: number): void {
    const key = String(outcome);
    this.byOutcome.set(key, (this.byOutcome.get(key) ?? 0) + 1);
    this.byCall.set(procedure, (this.byCall.get(procedure) ?? 0) + 1);
    if (outcome === 503) {
      this.ms503.push(ms);
      this.slowest503.set(procedure, Math.max(ms, this.slowest503.get(procedure) ?? 0));
    }
    if (outcome === 200) this.ms200.push(ms);
    if (typeof outcome === 'number' && outcome >= 500 && outcome !== 503) {
      this.violate('serverError', `${procedure} answered ${outcome}`);
    }
  }

  violate(invariant: Invariant, detail: string): void {
    this.violations.push({ invariant, at: this.now(), detail });
  }

  count(invariant: Invariant): number {
    return this.violations.filter((v) => v.invariant === invariant).length;
  }

  get requests(): number {
    return [...this.byOutcome.values()].reduce((sum, n) => sum + n, 0);
  }
}

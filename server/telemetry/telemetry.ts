import type { SessionEvent } from '../session/sessionEvents.js';
import type { StoreKind } from '../store/keyValueStore.js';

/** How a password check ended, as the login and re-authentication counters say it. */
export type AttemptOutcome = 'success' | 'wrong_password' | 'throttled' | 'store_unavailable';

/** Which limit refused an attempt (`gatehouse.throttle.reason`). */
export type ThrottleReason = 'account' | 'device' | 'address' | 'refusal_budget' | 'session' | 'registration';

/** The spans Gatehouse starts besides one per store operation: a closed set, no value of a request in a name. */
export type SpanName = 'gatehouse.session.load' | 'gatehouse.session.commit' | 'gatehouse.password.hash' | 'gatehouse.password.verify';

/**
 * What Gatehouse reports, through `@opentelemetry/api` when the app has it
 * and has registered an SDK (`openTelemetry.ts`), else nothing (`NO_TELEMETRY`).
 * Every attribute value comes from a closed set: never a user id, login,
 * session id, token or address (SECURITY.md O1).
 */
export interface Telemetry {
  /** Whether anything is recorded: false, the store and throttle are used unwrapped (no cost at all). */
  readonly enabled: boolean;
  sessionEvent(event: SessionEvent): void;
  attempt(kind: 'login' | 'reauthentication', outcome: AttemptOutcome): void;
  throttleRefused(reason: ThrottleReason): void;
  /** Times one store operation (histogram, errors, timeouts) in a span of its own. */
  storeOperation<T>(backend: StoreKind, operation: string, run: () => Promise<T>): Promise<T>;
  /** A 503 answer (the store failed); `key` (the request) counts it once however many layers see it. */
  unavailableAnswer(key: object): void;
  /** A streamed answer opened; the function returned closes it. */
  streamOpened(): () => void;
  /** Runs `run` in a span that is the active one for what it calls (its store operations are its children). */
  inSpan<T>(name: SpanName, run: () => Promise<T>): Promise<T>;
}

const closed = () => undefined;

/** Records nothing and costs a function call. */
export const NO_TELEMETRY: Telemetry = Object.freeze({
  enabled: false,
  sessionEvent: () => undefined,
  attempt: () => undefined,
  throttleRefused: () => undefined,
  storeOperation: <T>(_backend: StoreKind, _operation: string, run: () => Promise<T>) => run(),
  unavailableAnswer: () => undefined,
  streamOpened: () => closed,
  inSpan: <T>(_name: SpanName, run: () => Promise<T>) => run(),
});

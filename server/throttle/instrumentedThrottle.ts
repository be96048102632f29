import { isStoreUnavailable } from '../store/storeErrors.js';
import type { AttemptOutcome, Telemetry } from '../telemetry/telemetry.js';
import type { LoginAttempt, LoginThrottle, ThrottleVerdict } from './loginThrottle.js';

/**
 * The throttle, its verdicts counted: every password check passes through
 * it and ends in exactly one of refused, failed, succeeded or abandoned, so
 * it is where `gatehouse.login.attempts` and
 * `gatehouse.reauthentication.attempts` learn each outcome, and
 * `gatehouse.throttle.refusals` each refusal. Without telemetry, the
 * throttle itself.
 */
export function instrumentedThrottle(throttle: LoginThrottle, telemetry: Telemetry): LoginThrottle {
  if (!telemetry.enabled) return throttle;
  const refusal = (verdict: ThrottleVerdict) => {
    if (!verdict.allowed) telemetry.throttleRefused(verdict.refusedBy ?? 'account');
  };
  const counted = async (kind: 'login' | 'reauthentication', begin: () => Promise<LoginAttempt>): Promise<LoginAttempt> => {
    const report = (outcome: AttemptOutcome) => telemetry.attempt(kind, outcome);
    let attempt: LoginAttempt;
    try {
      attempt = await begin();
    } catch (error) {
      if (isStoreUnavailable(error)) report('store_unavailable');
      throw error;
    }
    if (!attempt.allowed) {
      refusal(attempt);
      report('throttled');
      return attempt;
    }
    return {
      ...attempt,
      failed: () => (report('wrong_password'), attempt.failed()),
      succeeded: () => (report('success'), attempt.succeeded()),
      abandoned: () => (report('store_unavailable'), attempt.abandoned()),
    };
  };
  return {
    beginLogin: (accountKey, address, markers) => counted('login', () => throttle.beginLogin(accountKey, address, markers)),
    beginPasswordCheck: (sessionKey, address) => counted('reauthentication', () => throttle.beginPasswordCheck(sessionKey, address)),
    async consumeRegistration(address) {
      const verdict = await throttle.consumeRegistration(address);
      refusal(verdict);
      return verdict;
    },
    forgetAccount: (accountKeys) => throttle.forgetAccount(accountKeys),
    failedBeforeCounting: () => telemetry.attempt('login', 'store_unavailable'),
  };
}

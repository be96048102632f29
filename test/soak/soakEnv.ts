/** A fixed key: a restarted process must open the sessions its predecessor sealed. */
const SOAK_KEY = 'soak-key-0123456789-abcdefghijklmnopqrstuvwxyz';

/**
 * The reference server's environment for a soak on `storeUrl`: the default
 * timeouts (1 s per store operation, 30 min idle, 12 h absolute: nothing
 * expires during a run), and the limits that would end or refuse a session
 * for reasons other than the faults pushed out of the way — the per-user cap
 * (a login answered 503 may still have created a session the client never
 * saw) and the login throttles (every virtual user calls from 127.0.0.1, and
 * a user unsure which password a change answered 503 left in effect tries
 * both). Their own tests cover them.
 */
export function soakEnv(storeUrl: string): Record<string, string> {
  return {
    SESSION_STORE_URL: storeUrl,
    SESSION_STORE_NAMESPACE: 'soak',
    SESSION_STORE_TIMEOUT: '1000ms',
    SESSION_KEYS: SOAK_KEY,
    SESSION_MAX_PER_USER: '1000',
    LOGIN_MAX_FAILURES_PER_ACCOUNT: '1000000',
    LOGIN_MAX_FAILURES_PER_ADDRESS: '1000000',
    REGISTER_MAX_PER_ADDRESS: '1000000',
  };
}

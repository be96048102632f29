/**
 * Epoch ms when an entry written at `now` with `ttlMs` expires, or `null`
 * when it never does (a TTL of 0). Any other TTL is at least 1 ms, so a
 * negative one expires at once — the meaning `memory://` and Redis give it.
 */
export const expiryOf = (ttlMs: number, now: number): number | null => (ttlMs === 0 ? null : now + Math.max(1, Math.ceil(ttlMs)));

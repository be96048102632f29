// User info runs to the *last* "@" before the path: a password with an unencoded "@" is still hidden whole.
const CREDENTIALS = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i;
// `password`, `sentinelPassword`, `pass`, `secret`, … in the query.
const SECRET_PARAMS = /([?&](?:[a-z_]*password|pass|pwd|secret|token|auth)=)([^&#]*)/gi;

/**
 * A store URL fit for output: the password (and any password-like query
 * parameter) replaced by `***`, the user name kept so an operator can tell
 * which account it is (D2). `redis://default:s3cret@cache:6379` →
 * `redis://default:***@cache:6379`; the multi-host forms alike:
 * `redis+sentinel://:s3cret@s1:26379,s2:26379/mymaster?sentinelPassword=x` →
 * `redis+sentinel://:***@s1:26379,s2:26379/mymaster?sentinelPassword=***`.
 */
export function redactUrl(url: string): string {
  return url
    .replace(CREDENTIALS, (_match, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(':');
      return colon === -1 ? `${scheme}${userinfo}@` : `${scheme}${userinfo.slice(0, colon)}:***@`;
    })
    .replace(SECRET_PARAMS, '$1***');
}

/**
 * A function that removes the URL's secrets from any text (an error
 * message that quotes the URL or its password), for process output.
 */
export function secretScrubber(url: string): (text: string) => string {
  const secrets = new Set<string>();
  const userinfo = CREDENTIALS.exec(url)?.[2];
  const password = userinfo?.includes(':') ? userinfo.slice(userinfo.indexOf(':') + 1) : undefined;
  const addSecret = (secret: string | undefined) => {
    if (!secret) return;
    secrets.add(secret);
    try {
      secrets.add(decodeURIComponent(secret.replace(/\+/g, ' ')));
      secrets.add(decodeURIComponent(secret));
    } catch {
      // not percent-encoded
    }
  };
  addSecret(password);
  for (const match of url.matchAll(SECRET_PARAMS)) addSecret(match[2]);
  const redacted = redactUrl(url);
  return (text) => {
    let out = text.split(url).join(redacted);
    for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('***');
    return out;
  };
}

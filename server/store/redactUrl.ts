import { hiddenSpans } from './storeUrlSecrets.js';

/**
 * A store URL fit for output: the password and every password-like query
 * parameter (`password`, `sentinelPassword`, `pass`, `pwd`, `secret`,
 * `token`, `auth`, …) replaced by `***`, the user name kept so an operator
 * can tell which account it is (D2). The password runs to the *last* "@",
 * so one holding an unencoded "@", "/", "?" or "#" is hidden whole; a
 * parameter's value runs to the end of the URL. Text that is not
 * `scheme://…` is shown as its scheme and `***`.
 *
 * @example redactUrl('redis://default:s3cret@cache:6379') // 'redis://default:***@cache:6379'
 * @example redactUrl('redis+sentinel://:s3cret@s1:26379,s2:26379/mymaster?sentinelPassword=x') // 'redis+sentinel://:***@s1:26379,s2:26379/mymaster?sentinelPassword=***'
 * @example redactUrl('postgres://app:pa/ss@db/app') // 'postgres://app:***@db/app'
 * @example redactUrl('redis:app:s3cret@cache') // 'redis:***'
 */
export function redactUrl(url: string): string {
  let shown = '';
  let from = 0;
  for (const { start, end } of hiddenSpans(url)) {
    shown += `${url.slice(from, start)}***`;
    from = end;
  }
  return shown + url.slice(from);
}

/**
 * True when `redactUrl(url)` shows `piece`: an error message may quote a
 * piece of a URL (a host, a parameter) only then, since a piece of a
 * malformed URL can be a piece of its password.
 */
export const redactedUrlShows = (url: string, piece: string): boolean => redactUrl(url).includes(piece);

import Bowser from 'bowser';

const MAX_LABEL = 64;

/**
 * A short name people recognise a session by, as GitHub's and Google's
 * device lists show them: "Chrome on Linux", "Safari on iPhone", or a
 * client's own product name ("notes-cli", "curl") — parsed from the
 * User-Agent with bowser (MIT). Plain text: whoever shows it escapes it
 * (the User-Agent is the client's to write). `null` without a User-Agent.
 */
export function deviceLabelOf(userAgent: string | null): string | null {
  if (!userAgent) return null;
  const parsed = Bowser.parse(userAgent);
  const browser = parsed.browser.name?.trim();
  const where = parsed.platform.model ?? parsed.os.name;
  if (browser && where) return clip(`${browser} on ${where}`);
  const product = /^[^\s/;()]+/.exec(userAgent)?.[0];
  return clip(browser || product || userAgent);
}

const clip = (label: string) => (label.length > MAX_LABEL ? `${label.slice(0, MAX_LABEL - 1)}…` : label);

/** The shortest piece of a password that counts as leaked. */
const PIECE = 4;

const piecesOf = (text: string): string[] => {
  const chars = [...text];
  return chars.slice(0, chars.length - PIECE + 1).map((_, i) => chars.slice(i, i + PIECE).join(''));
};

const tryDecode = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
};

/**
 * Every piece of four characters of the passwords: as written, and
 * percent-decoded (what a driver sees). Of the percent-encoded forms
 * (`%E9%9B%AA`, what a URL parser makes of unicode and spaces) the pieces
 * that hold a "%": the others are hex digits next to plain letters, which
 * other output can hold by chance. The passwords come from `storePassword`,
 * whose every piece of four holds a character Gatehouse never prints.
 */
export function passwordPieces(passwords: readonly string[]): Set<string> {
  const pieces = new Set<string>();
  for (const password of passwords) {
    for (const form of [password, tryDecode(password)]) if (form !== undefined) for (const piece of piecesOf(form)) pieces.add(piece);
    for (const form of [encodeURIComponent(password), encodeURI(password)]) {
      for (const piece of piecesOf(form)) if (piece.includes('%')) pieces.add(piece);
    }
  }
  return pieces;
}

/** The pieces of the passwords that `output` holds (none, when nothing leaked). */
export function leakedPieces(output: string, passwords: readonly string[]): string[] {
  return [...passwordPieces(passwords)].filter((piece) => output.includes(piece));
}

/**
 * What a rotation leaves under the old id's store key: where the session
 * went. A request carrying the old id finds no session there; a logout or
 * revocation that meets it ends the successor too (L11: a logout ends any
 * rotation of its session in flight, and the victim's logout still reaches
 * a thief's rotation). Sealed like a record, so a store dump shows nothing.
 */
export interface Tombstone {
  /** The successor's store key. */
  readonly next: string;
  /** The successor's public id (its entry in the user's index). */
  readonly nextPublicId: string;
  readonly userId: string;
  /** Gatehouse's clock, epoch ms: after this the tombstone counts as gone (the old id could not have been used any more). */
  readonly until: number;
}

const MARK = 't';

export const encodeTombstone = (tombstone: Tombstone): string =>
  JSON.stringify([MARK, tombstone.next, tombstone.nextPublicId, tombstone.userId, tombstone.until]);

/** The tombstone in `plaintext`, or `undefined` when it holds something else (a record). */
export function decodeTombstone(plaintext: string): Tombstone | undefined {
  if (!plaintext.startsWith(`["${MARK}"`)) return undefined;
  try {
    const [, next, nextPublicId, userId, until] = JSON.parse(plaintext) as unknown[];
    if (typeof next !== 'string' || typeof nextPublicId !== 'string' || typeof userId !== 'string' || typeof until !== 'number') return undefined;
    return { next, nextPublicId, userId, until };
  } catch {
    return undefined;
  }
}

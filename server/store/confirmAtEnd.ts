import { isStoreUnconfirmed, StoreUnconfirmedError } from './storeErrors.js';

/** Runs one step of a `confirmAtEnd` flow: its result, even when the replicas did not confirm it. */
export type Step = <T>(write: Promise<T>) => Promise<T>;

/**
 * Runs a flow of several store steps (end a user's sessions, delete an
 * account, change a password) that must all happen even when a durable
 * write among them is not confirmed by the replicas in time. Such a write
 * did happen on the master (`StoreUnconfirmedError`): stopping the flow
 * there would leave its later steps undone — the sessions of a deleted
 * account alive, a thief's session still signed in after the password
 * changed under it. So every step that may be unconfirmed goes through
 * `step`, which answers the write's result either way and notes that a
 * confirmation is owed; once the flow has run to its end, the flow rejects
 * with one `StoreUnconfirmedError` (a 503 "not confirmed") carrying the
 * flow's own result, so a flow inside another is one more step of it.
 * Any other error (`StoreUnavailableError`, a bug) stops the flow at once.
 *
 * @example
 * return confirmAtEnd(async (step) => {
 *   const generation = await step(kv.increment(key, DURABLE));
 *   return { ended: await step(endEach(generation)), generation };
 * });
 */
export async function confirmAtEnd<T>(flow: (step: Step) => Promise<T>): Promise<T> {
  let owed: StoreUnconfirmedError | undefined;
  const step: Step = async <S>(write: Promise<S>) => {
    try {
      return await write;
    } catch (error) {
      if (!isStoreUnconfirmed(error)) throw error;
      owed ??= error;
      // The error of a write that resolves an S carries that S (`ReplicaWaitLanes.run`, or an inner flow's end).
      return error.result as S;
    }
  };
  const result = await flow(step);
  if (owed) throw new StoreUnconfirmedError(owed.operation, owed.acknowledged, owed.wanted, result);
  return result;
}

/**
 * What `openStore` takes, and the key namespace every backend puts before
 * its keys: shared by the dispatcher and the backends it opens (in a file of
 * their own, so no backend imports the dispatcher back).
 */
export interface OpenStoreOptions {
  url: string;
  /**
   * Deadline for every store operation, in ms (past it: 503). Required, as
   * for `keyvStore` and `redisStoreFor`; `createGatehouse`'s `storeTimeout`
   * (default 1 s) applies to store URLs only.
   */
  timeoutMs: number;
  /** Called with backend errors (connection drops, …) for logging. */
  onError?: (error: unknown) => void;
  /** Prefix of every key (default `gatehouse`): lets several apps or test runs share one Redis/Postgres. */
  namespace?: string;
  /**
   * PostgreSQL only: the base table name (default `keyv`, the Keyv table of
   * earlier versions, whose rows move on first use). Values live in
   * `<table>_values`, maps in `<table>_maps`.
   */
  table?: string;
}

/** Every key Gatehouse writes starts with this namespace unless told otherwise. */
export const NAMESPACE = 'gatehouse';

export const namespaceOf = (options: { namespace?: string | undefined }) => options.namespace ?? NAMESPACE;

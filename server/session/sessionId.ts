import { hash } from 'node:crypto';
import { randomPool } from './randomPool.js';

const ID_BYTES = 32;
const WELL_FORMED = /^[A-Za-z0-9_-]{43}$/;

/** 256 bits from the CSPRNG, base64url (43 characters). Not a UUID (ASVS 7.2.3). */
export function newSessionId(): string {
  return randomPool.base64url(ID_BYTES);
}

/** Cheap shape check before any hashing or store access. */
export function isWellFormedSessionId(id: string): boolean {
  return WELL_FORMED.test(id);
}

/** One-shot SHA-256 (no Hash object per call: this runs on every authenticated request). */
function digest(label: string, id: string): string {
  return hash('sha256', label + id, 'base64url');
}

/** Store keys of the ids seen last (FIFO, bounded): a session's every request asks for the same one. */
const storeKeys = new Map<string, string>();
const STORE_KEY_MEMO_SIZE = 4_096;

/** The store key: SHA-256 of the id, so a store dump yields no usable cookie. */
export function storeKeyOf(id: string): string {
  let key = storeKeys.get(id);
  if (key === undefined) {
    key = `s:${digest('', id)}`;
    if (storeKeys.size >= STORE_KEY_MEMO_SIZE) storeKeys.delete(storeKeys.keys().next().value!);
    storeKeys.set(id, key);
  }
  return key;
}

/**
 * The opaque id the API shows (sessions.list, logs). A different hash than
 * the store key, so it reveals neither the cookie nor where the record lives.
 */
export function publicIdOf(id: string): string {
  return digest('gatehouse/public-session-id\0', id).slice(0, 22);
}

/**
 * The keyed hash that stands for a session name wherever Mirador must match a session without
 * keeping its name readable (session file names, the learner's run records): HMAC-SHA256 under a
 * subkey of the memory key when the cipher offers `keyedHash` (MemoryCipher does), otherwise
 * SHA-256. The name is NFC-normalised first, as session names are, so "café" typed either way is
 * one session. Without the key the hash neither reveals the name nor confirms a guess at it.
 */
import { createHash } from 'node:crypto'

export interface KeyedHasher {
  keyedHash?: (text: string) => string
}

/** 64 hex digits standing for the session `name` (see the module comment). */
export function sessionHash(cipher: KeyedHasher | object, name: string): string {
  const n = name.normalize('NFC')
  const keyed = 'keyedHash' in cipher ? (cipher as KeyedHasher).keyedHash : undefined
  return typeof keyed === 'function'
    ? keyed.call(cipher, `session:${n}`)
    : createHash('sha256').update(`mirador session:${n}`).digest('hex')
}

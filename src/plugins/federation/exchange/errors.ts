/** The exchange's errors and path rules, shared by every kind of exchange. */
import { MiradorError } from '../../../engine/errors.js'

/** One line naming the exchange and, when there is one, the path; never a file's contents. */
export function exchangeError(exchange: string, message: string, cause?: unknown): MiradorError {
  return new MiradorError('FEDERATION_EXCHANGE', `exchange ${exchange}: ${message}`, { cause, details: { exchange } })
}

function conflictError(exchange: string, file: string): MiradorError {
  return exchangeError(
    exchange,
    `${file} already exists with other content; rounds are append-only, so write under a new name (a new round)`,
  )
}

// Segments starting with a dot are reserved: temp files of an atomic write, git's own .git.
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/
const MAX_PATH = 512

/** Checks a file path: relative, segments of [A-Za-z0-9._-] not starting with a dot, joined by '/'. */
export function checkPath(exchange: string, file: string): string {
  if (typeof file !== 'string' || file.length === 0 || file.length > MAX_PATH || !file.split('/').every(isSegment)) {
    throw exchangeError(
      exchange,
      `invalid path ${JSON.stringify(String(file).slice(0, MAX_PATH))}: use a relative path of names made of ` +
        'A-Z a-z 0-9 . _ - joined by /, none starting with a dot (no .., no absolute path)',
    )
  }
  return file
}

/** Like checkPath, but '' (or '.') names the top of the exchange. */
export function checkDir(exchange: string, dir: string): string {
  if (dir === '' || dir === '.') return ''
  return checkPath(exchange, dir.endsWith('/') ? dir.slice(0, -1) : dir)
}

function isSegment(s: string): boolean {
  return SEGMENT.test(s)
}

/**
 * A put found `file` taken (by `there`, or gone again when undefined): the same bytes are the same
 * put made twice, a no-op; anything else is a conflict, as rounds are append-only.
 */
export function refuseOtherBytes(
  exchange: string,
  file: string,
  there: Uint8Array | undefined,
  bytes: Uint8Array,
): void {
  if (!there || !sameBytes(there, bytes)) throw conflictError(exchange, file)
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
}

export function sortNames(names: string[]): string[] {
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

/** Visible names only: dot names are an exchange's own temp and bookkeeping files. */
export function visible(name: string): boolean {
  return !name.startsWith('.')
}

export function throwIfAborted(exchange: string, signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new MiradorError('ABORTED', `exchange ${exchange}: cancelled`)
}

/** Checks shared by members and the aggregator: ids, thresholds, message headers. */
import { MiradorError } from '../../../engine/errors.js'

export const sortIds = (ids: Iterable<string>): string[] => [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))

export function roundError(message: string, details?: Record<string, unknown>): MiradorError {
  return new MiradorError('FEDERATION_ROUND', message, details ? { details } : {})
}

/**
 * t must exceed half the members: with t ≤ n/2 two disjoint sets of members could each reconstruct
 * a different secret of one member, and the double mask would no longer protect anyone.
 */
export function checkThreshold(threshold: number, members: number): void {
  if (!Number.isInteger(threshold) || threshold <= members / 2 || threshold > members) {
    throw roundError(
      `the threshold must be an integer above half the ${members} members and at most ${members}, not ${threshold}`,
    )
  }
}

export function checkHeader(
  msg: { v?: unknown; group?: unknown; round?: unknown; member?: unknown },
  group: string,
  round: string,
  what: string,
): void {
  if (msg.v !== 1 || msg.group !== group || msg.round !== round || typeof msg.member !== 'string') {
    throw roundError(`${what} is not a version-1 message of group ${group}, round ${round}`, {
      group: msg.group,
      round: msg.round,
    })
  }
}

/** Equal id lists; false for anything that is not a list (a malformed file). */
export function sameIds(a: unknown, b: readonly string[]): boolean {
  return Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i])
}

/** The revealed shares of a reveal file, checked for shape before any arithmetic touches them. */
export function checkRevealShares(shares: unknown, member: string): void {
  const ok =
    Array.isArray(shares) &&
    shares.every(
      (s: { of?: unknown; kind?: unknown; x?: unknown; y?: unknown } | null) =>
        typeof s === 'object' &&
        s !== null &&
        typeof s.of === 'string' &&
        (s.kind === 'self' || s.kind === 'mask') &&
        Number.isSafeInteger(s.x) &&
        (s.x as number) >= 1 &&
        typeof s.y === 'string',
    )
  if (!ok) throw roundError(`the reveal of ${member} does not hold a list of shares {of, kind, x, y}`)
}

/**
 * Which memories to drop when there are more than the cap: the least useful first. Usefulness is
 * (recalls + 1) halved for every 30 days since the memory was last made or recalled, so an old
 * memory never recalled goes before a recent one, and one recalled often lasts. The memory just
 * made is never a candidate: it has had no chance to be recalled yet.
 */
import type { StoredMemory } from './types.js'

const HALF_LIFE_DAYS = 30
const DAY = 86_400_000

export function usefulness(m: StoredMemory, now: number): number {
  const lastUse = Math.max(m.meta.createdAt, m.meta.lastRecalledAt ?? 0)
  return (m.meta.recalls + 1) * 0.5 ** (Math.max(0, now - lastUse) / DAY / HALF_LIFE_DAYS)
}

export function leastUseful(
  memories: StoredMemory[],
  n: number,
  now: number,
  keep: ReadonlySet<string> = new Set(),
): string[] {
  return memories
    .filter((m) => !keep.has(m.id))
    .map((m) => ({ id: m.id, u: usefulness(m, now), at: m.meta.createdAt }))
    .sort((a, b) => a.u - b.u || a.at - b.at)
    .slice(0, Math.max(0, n))
    .map((m) => m.id)
}

/**
 * Which memories to drop when there are more than the cap: the least useful first, those never
 * recalled before those recalled, and among them the oldest (by creation, or last recall).
 */
import type { StoredMemory } from './types.js'

export function leastUseful(memories: StoredMemory[], n: number, now: number): string[] {
  const lastUse = (m: StoredMemory) => m.meta.lastRecalledAt ?? m.meta.createdAt
  // recalls per day of age: a memory recalled often recently is worth keeping
  const worth = (m: StoredMemory) => m.meta.recalls / Math.max(1, (now - m.meta.createdAt) / 86_400_000)
  return [...memories]
    .sort((a, b) => (a.meta.recalls === 0 ? 0 : 1) - (b.meta.recalls === 0 ? 0 : 1) || worth(a) - worth(b) || lastUse(a) - lastUse(b))
    .slice(0, Math.max(0, n))
    .map((m) => m.id)
}

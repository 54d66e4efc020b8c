/**
 * What the eviction policy learned about use (decayed request counts) outlives the process: a
 * CLI run is short, and a policy that forgot everything at exit would be LRU in disguise. Kept in
 * $MIRADOR_HOME/models/usage.json, written atomically; a missing or damaged file starts afresh.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { writeFileAtomic } from '../../lib/atomic-write.js'
import type { PolicySnapshot } from './eviction.js'

export function usageFile(home: string): string {
  return path.join(home, 'models', 'usage.json')
}

export async function loadUsage(home: string): Promise<PolicySnapshot | undefined> {
  try {
    const data = JSON.parse(await readFile(usageFile(home), 'utf8')) as Partial<PolicySnapshot>
    if (typeof data.clock !== 'number' || !data.usage || typeof data.usage !== 'object') return undefined
    const usage: PolicySnapshot['usage'] = {}
    for (const [k, u] of Object.entries(data.usage)) {
      if (k !== '__proto__' && typeof u?.count === 'number' && typeof u.at === 'number')
        usage[k] = { count: u.count, at: u.at }
    }
    return { clock: data.clock, usage }
  } catch {
    return undefined
  }
}

export function saveUsage(home: string, snapshot: PolicySnapshot): Promise<void> {
  return writeFileAtomic(usageFile(home), JSON.stringify(snapshot) + '\n')
}

/**
 * Which embedder's collection holds this home's memories (`$MIRADOR_HOME/memory/embedder.json`).
 * Vectors of two embedders never mix, so when the config names another embedder the memories stay
 * where they are, recalled with the embedder that made them, until `mirador memory reindex` has
 * embedded every one again; only then does the new collection take over. Nothing is lost on the way.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { writeFileAtomic } from '../../lib/atomic-write.js'

export function activeFile(home: string): string {
  return path.join(path.resolve(home), 'memory', 'embedder.json')
}

/** the embedder id recorded for this home, or undefined before the store was first used */
export function readActive(home: string): string | undefined {
  try {
    const v = JSON.parse(readFileSync(activeFile(home), 'utf8')) as { active?: unknown }
    return typeof v.active === 'string' && v.active ? v.active : undefined
  } catch {
    return undefined
  }
}

export function writeActive(home: string, id: string): Promise<void> {
  return writeFileAtomic(activeFile(home), JSON.stringify({ active: id }) + '\n', 0o600)
}

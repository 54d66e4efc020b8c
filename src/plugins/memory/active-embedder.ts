/**
 * Which embedder's collection holds this home's memories (`$MIRADOR_HOME/memory/embedder.json`).
 * Vectors of two embedders never mix, so when the config names another embedder the memories stay
 * where they are, recalled with the embedder that made them, until `mirador memory reindex` has
 * embedded every one again; only then does the new collection take over. Nothing is lost on the way.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { writeFileAtomic } from '../../lib/atomic-write.js'
import { createHashingEmbedder } from '../../lib/embedder.js'

export function activeFile(home: string): string {
  return path.join(path.resolve(home), 'memory', 'embedder.json')
}

/**
 * The embedder id recorded for this home; undefined before the store was first used. A home whose
 * store a Mirador older than this record made (a Chroma folder, no record) had the hashing
 * embedder, the default then: its memories are in that collection and stay reachable there.
 */
export function readActive(home: string): string | undefined {
  return (
    recorded(home) ?? (existsSync(path.join(path.resolve(home), 'memory', 'chroma')) ? legacyEmbedderId() : undefined)
  )
}

function recorded(home: string): string | undefined {
  try {
    const v = JSON.parse(readFileSync(activeFile(home), 'utf8')) as { active?: unknown }
    return typeof v.active === 'string' && v.active ? v.active : undefined
  } catch {
    return undefined
  }
}

/** the default embedder before the record existed */
function legacyEmbedderId(): string {
  return createHashingEmbedder().id
}

/**
 * Records `id` as the embedder of this home's store unless one is recorded: called before the store
 * is first opened (which makes the Chroma folder a home without a record would be taken as an old one's).
 */
export async function recordFirstUse(home: string, id: string): Promise<void> {
  if (!recorded(home)) await writeActive(home, id)
}
/** after `forget --all`: nothing is left in any collection, the next use starts with the config's */
export function clearActive(home: string): void {
  rmSync(activeFile(home), { force: true })
}

export function writeActive(home: string, id: string): Promise<void> {
  return writeFileAtomic(activeFile(home), JSON.stringify({ active: id }) + '\n', 0o600)
}

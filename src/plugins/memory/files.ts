/**
 * The files of a memory folder (session files, outbox batches), for the stores that keep one
 * file per item.
 */
import { readdir } from 'node:fs/promises'
import path from 'node:path'

/** The paths of the files in `dir` whose names `keep` accepts, in readdir's order; none when `dir` does not exist. */
export async function listFiles(dir: string, keep: (name: string) => boolean): Promise<string[]> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  return names.filter(keep).map((n) => path.join(dir, n))
}

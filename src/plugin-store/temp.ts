/** A temporary folder for one operation, removed afterwards whatever happens. */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

export async function withTempDir<T>(
  prefix: string,
  fn: (dir: string) => Promise<T>,
  parent = os.tmpdir(),
): Promise<T> {
  const dir = await mkdtemp(path.join(parent, `${prefix}-`))
  try {
    return await fn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

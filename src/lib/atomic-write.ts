/**
 * Writes a file so that a reader (or a crash) sees either the old content or the new, never half:
 * a temp file beside it, fsync, rename over, fsync of the folder. Every file Mirador rewrites goes
 * through here.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, rename, rm } from 'node:fs/promises'
import path from 'node:path'

export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = path.dirname(file)
  await mkdir(dir, { recursive: true })
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    const fh = await open(tmp, 'w', mode)
    try {
      await fh.writeFile(data)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, file)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
  // the rename itself is durable only once the folder is synced
  const d = await open(dir, 'r').catch(() => undefined)
  await d?.sync().catch(() => {})
  await d?.close()
}

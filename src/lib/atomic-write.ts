/**
 * Writes a file so that a reader (or a crash) sees either the old content or the new, never half:
 * a temp file beside it, fsync, rename over, fsync of the folder. Every file Mirador rewrites goes
 * through here.
 */
import { randomBytes } from 'node:crypto'
import { link, mkdir, open, rename, rm } from 'node:fs/promises'
import path from 'node:path'

/**
 * `exclusive`: never replace a file, even one created meanwhile: the temp file is linked to its
 * name (which fails with EEXIST if the name is taken) instead of renamed over it.
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  mode = 0o644,
  opts: { exclusive?: boolean } = {},
): Promise<void> {
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
    if (opts.exclusive) await link(tmp, file)
    else await rename(tmp, file)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
  if (opts.exclusive) await rm(tmp, { force: true })
  // the rename itself is durable only once the folder is synced
  const d = await open(dir, 'r').catch(() => undefined)
  await d?.sync().catch(() => {})
  await d?.close()
}

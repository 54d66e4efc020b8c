/**
 * The JavaScript files (.js, .mjs, .cjs) under a folder, found without following symbolic links
 * (a link could lead anywhere, and round in circles) and skipping .git. Everything else about a
 * file (that it is regular, its size) is checked when it is read.
 */
import { lstat, readdir } from 'node:fs/promises'
import path from 'node:path'

export const JS_FILE = /\.(?:js|mjs|cjs)$/

export interface FileListing {
  files: string[]
  /** files not analyzed, and why ("a symbolic link, not followed") */
  skipped: { file: string; why: string }[]
  /** the listing stopped at the file cap */
  truncated: boolean
}

export async function listJsFiles(roots: string[], maxFiles: number): Promise<FileListing> {
  const out: FileListing = { files: [], skipped: [], truncated: false }
  const add = (file: string) => {
    if (out.files.length >= maxFiles) out.truncated = true
    else out.files.push(file)
  }
  async function walk(dir: string): Promise<void> {
    let entries
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch (err) {
      out.skipped.push({ file: dir, why: `cannot be listed (${(err as NodeJS.ErrnoException).code ?? String(err)})` })
      return
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (out.truncated) return
      const p = path.join(dir, e.name)
      if (e.isDirectory()) {
        if (e.name !== '.git') await walk(p)
      } else if (JS_FILE.test(e.name)) {
        if (e.isSymbolicLink()) out.skipped.push({ file: p, why: 'a symbolic link, not followed' })
        // a FIFO or socket named like a module is listed: reading it says what it is
        else add(p)
      }
    }
  }
  for (const root of roots) {
    const st = await lstat(root).catch(() => undefined)
    if (!st) out.skipped.push({ file: root, why: 'does not exist' })
    else if (st.isDirectory()) await walk(root)
    else add(root)
  }
  return out
}

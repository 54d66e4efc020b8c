/**
 * A folder exchange: a directory every member reaches (a shared drive, or synced by whatever the
 * user already uses). Writes are atomic and create-only: a temp file is fsynced and then linked to
 * its name, which fails if the name is taken, so two processes racing on one name never corrupt it.
 */
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { writeFileAtomic } from '../../../lib/atomic-write.js'
import { checkDir, checkPath, exchangeError, refuseOtherBytes, sortNames, throwIfAborted, visible } from './errors.js'
import type { Exchange, ExchangeOptions } from './types.js'

export function createFolderExchange(root: string, options: ExchangeOptions): Exchange {
  const top = path.resolve(root)
  const name = top
  const { signal, onProgress } = options
  const at = (file: string) => path.join(top, ...file.split('/'))

  async function get(file: string): Promise<Uint8Array | undefined> {
    checkPath(name, file)
    throwIfAborted(name, signal)
    try {
      return new Uint8Array(await readFile(at(file)))
    } catch (err) {
      if (isMissing(err)) return undefined
      throw exchangeError(name, `cannot read ${file} (${code(err)})`, err)
    }
  }

  return {
    name,
    async list(dir) {
      const d = checkDir(name, dir)
      throwIfAborted(name, signal)
      try {
        const entries = await readdir(d ? at(d) : top, { withFileTypes: true })
        return sortNames(entries.filter((e) => e.isFile() && visible(e.name)).map((e) => e.name))
      } catch (err) {
        if (isMissing(err) && d) return []
        throw exchangeError(name, `cannot list ${d || 'the exchange folder'} (${code(err)})`, err)
      }
    },
    get,
    async put(file, bytes) {
      checkPath(name, file)
      throwIfAborted(name, signal)
      try {
        await writeFileAtomic(at(file), bytes, 0o644, { exclusive: true })
      } catch (err) {
        if (code(err) !== 'EEXIST') throw exchangeError(name, `cannot write ${file} (${code(err)})`, err)
        const there = await get(file)
        refuseOtherBytes(name, file, there, bytes)
      }
      onProgress?.({ kind: 'put', path: file })
    },
    async sync() {
      // the folder is live: whatever syncs it (a shared drive, a sync tool) works outside Mirador
      throwIfAborted(name, signal)
      onProgress?.({ kind: 'sync' })
    },
    async close() {},
  }
}

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? (err instanceof Error ? err.message : String(err))
}

function isMissing(err: unknown): boolean {
  const c = code(err)
  return c === 'ENOENT' || c === 'ENOTDIR'
}

/**
 * The sha256 of model files Mirador has hashed, so a multi-gigabyte GGUF pinned in the manifest
 * is hashed once, not on every load: $MIRADOR_HOME/models/verified.json, keyed by the file's
 * absolute path and valid only while its size, modification time and inode are what they were when
 * it was hashed (a re-download, a copy over it or an edit changes one of them). A file rewritten in
 * place with the same size and a restored mtime would not be noticed: `models verify --rehash`
 * hashes again whatever the cache says.
 *
 * The file is read with a bound and written atomically under a lock; when another process holds the
 * lock the new hash is simply not kept (it is a cache). A missing or damaged file is an empty cache.
 * It holds paths and hashes of model files, nothing of a run, so it is kept with memory off too.
 */
import path from 'node:path'
import { writeFileAtomic } from '../../lib/atomic-write.js'
import { ensurePrivateDir } from '../../lib/crypto.js'
import { tryWithFileLock } from '../../lib/file-lock.js'
import { readRegularFile } from '../../lib/read-regular-file.js'

/** What identifies one version of a file without reading it. */
export interface FileStamp {
  /** absolute */
  path: string
  size: number
  mtimeMs: number
  ino: number
}

interface Entry {
  size: number
  mtimeMs: number
  ino: number
  sha256: string
  /** when it was hashed (ms since the epoch): the oldest entries go first when the cache is full */
  at: number
}

const VERSION = 1
/** entries kept; each is about 200 bytes */
const MAX_ENTRIES = 1000
const MAX_BYTES = 1 << 20
const HEX64 = /^[0-9a-f]{64}$/

export function hashCacheFile(home: string): string {
  return path.join(home, 'models', 'verified.json')
}

export class HashCache {
  readonly file: string

  constructor(home: string) {
    this.file = hashCacheFile(home)
  }

  /** The sha256 recorded for exactly this version of the file, if any. */
  async get(stamp: FileStamp): Promise<string | undefined> {
    const e = (await this.#read()).get(stamp.path)
    return e && e.size === stamp.size && e.mtimeMs === stamp.mtimeMs && e.ino === stamp.ino ? e.sha256 : undefined
  }

  /** Records the sha256 of this version of the file (replacing what was recorded for its path). */
  async put(stamp: FileStamp, sha256: string): Promise<void> {
    await ensurePrivateDir(path.dirname(this.file))
    await tryWithFileLock(`${this.file}.lock`, async () => {
      const entries = await this.#read()
      entries.delete(stamp.path)
      entries.set(stamp.path, { size: stamp.size, mtimeMs: stamp.mtimeMs, ino: stamp.ino, sha256, at: Date.now() })
      const kept = [...entries].sort((a, b) => a[1].at - b[1].at).slice(-MAX_ENTRIES)
      const data = { version: VERSION, files: Object.fromEntries(kept) }
      await writeFileAtomic(this.file, `${JSON.stringify(data, null, 1)}\n`, 0o600)
    })
  }

  async #read(): Promise<Map<string, Entry>> {
    const out = new Map<string, Entry>()
    const read = await readRegularFile(this.file, MAX_BYTES)
    if (!read.ok) return out
    let data: unknown
    try {
      data = JSON.parse(read.text)
    } catch {
      return out
    }
    const { version, files } = (data ?? {}) as { version?: unknown; files?: unknown }
    if (version !== VERSION || !files || typeof files !== 'object') return out
    for (const [p, e] of Object.entries(files as Record<string, Partial<Entry> | null>)) {
      if (
        path.isAbsolute(p) &&
        typeof e?.size === 'number' &&
        typeof e.mtimeMs === 'number' &&
        typeof e.ino === 'number' &&
        typeof e.at === 'number' &&
        typeof e.sha256 === 'string' &&
        HEX64.test(e.sha256)
      )
        out.set(p, { size: e.size, mtimeMs: e.mtimeMs, ino: e.ino, sha256: e.sha256, at: e.at })
    }
    return out
  }
}

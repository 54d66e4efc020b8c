/**
 * The memory outbox: memories that could not be written to the store (Chroma down, disk full on
 * its side, …) wait here, sealed, and are written on the next successful run. Nothing is lost.
 *
 * Layout: `$MIRADOR_HOME/memory/outbox/<ms>-<seq>-<pid>-<rand>.batch`, one sealed file per `put`
 * (JSON `{ v: 1, at, records }`), written atomically (temp file, fsync, rename) with mode 0600. File
 * names sort in the order the batches were put (within a process exactly; across processes by
 * the millisecond).
 *
 * `drain` and `forget` hold `outbox/.lock` (see withFileLock in ./file-lock.ts) so two runs never
 * replay the same batch twice and `forget` never races a replay. `drain` does not wait: when
 * another process is draining it returns `busy` at once. `put` needs no lock: each batch is a new
 * file.
 */
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { MiradorError } from '../../engine/errors.js'
import { openFile, sealFile } from '../../lib/crypto.js'
import { tryWithFileLock, withFileLock } from '../../lib/file-lock.js'
import { listFiles } from './files.js'
import type { Cipher, MemoryFilter, MemoryRecord } from './types.js'

export interface DrainResult {
  /** batches written and removed */
  batches: number
  /** records in them */
  records: number
  /** batches still waiting */
  left: number
  /** why the drain stopped early: the write's error, or MEMORY_CRYPTO for a batch that cannot be opened */
  error?: unknown
  /** another process is draining; nothing was done */
  busy?: boolean
}

interface Batch {
  v: 1
  at: number
  records: MemoryRecord[]
}

let seq = 0

export class Outbox {
  readonly dir: string
  private readonly lock: string

  constructor(
    home: string,
    private readonly cipher: Cipher,
    private readonly options: { lockTimeoutMs?: number; staleLockMs?: number } = {},
  ) {
    this.dir = path.join(home, 'memory', 'outbox')
    this.lock = path.join(this.dir, '.lock')
  }

  /** Seals `records` into a new batch file; returns its path (undefined for no records). */
  async put(records: MemoryRecord[]): Promise<string | undefined> {
    if (!Array.isArray(records)) throw new MiradorError('INTERNAL', 'Outbox.put: records must be an array')
    if (records.length === 0) return undefined
    for (const r of records) {
      if (
        !r ||
        typeof r.id !== 'string' ||
        typeof r.text !== 'string' ||
        !r.meta ||
        typeof r.meta.createdAt !== 'number'
      ) {
        throw new MiradorError('INTERNAL', 'Outbox.put: a record lacks id, text or meta.createdAt')
      }
    }
    const time = String(Date.now()).padStart(15, '0')
    const count = String(seq++).padStart(9, '0')
    const name = `${time}-${count}-${process.pid}-${randomBytes(4).toString('hex')}.batch`
    const file = path.join(this.dir, name)
    const batch: Batch = { v: 1, at: Date.now(), records }
    await sealFile(this.cipher, file, JSON.stringify(batch))
    return file
  }

  /**
   * Replays the batches oldest first through `write`, deleting each file only after its write
   * resolved. Stops at the first failure (a throwing write, or a batch that cannot be opened) and
   * leaves that batch and all later ones for the next time, so order is kept.
   */
  async drain(write: (records: MemoryRecord[]) => Promise<void>): Promise<DrainResult> {
    const run = await tryWithFileLock(
      this.lock,
      async (): Promise<DrainResult> => {
        const files = await this.files()
        const res: DrainResult = { batches: 0, records: 0, left: files.length }
        for (const file of files) {
          let batch: Batch | undefined
          try {
            batch = await this.read(file)
          } catch (err) {
            return { ...res, error: err }
          }
          if (batch && batch.records.length > 0) {
            try {
              await write(batch.records)
            } catch (err) {
              return { ...res, error: err }
            }
            res.records += batch.records.length
          }
          await rm(file, { force: true })
          res.batches++
          res.left--
        }
        return res
      },
      { staleMs: this.options.staleLockMs ?? 10_000, what: 'the memory outbox' },
    )
    return run ? run.value : { batches: 0, records: 0, left: (await this.files()).length, busy: true }
  }

  /** How many records are waiting (opens every batch; MEMORY_CRYPTO if one cannot be opened). */
  async size(): Promise<number> {
    let n = 0
    for (const file of await this.files()) n += (await this.read(file))?.records.length ?? 0
    return n
  }

  /** How many batch files are waiting (no decryption). */
  async batches(): Promise<number> {
    return (await this.files()).length
  }

  /** Every waiting record, oldest first. */
  async list(): Promise<MemoryRecord[]> {
    const out: MemoryRecord[] = []
    for (const file of await this.files()) out.push(...((await this.read(file))?.records ?? []))
    return out
  }

  /**
   * Removes waiting records matching `filter`, so `mirador memory forget` reaches memories not yet
   * in the store. The given conditions all have to hold (`ids` and `session` and `before`);
   * `all` removes every batch, even ones that cannot be opened. Returns how many records were
   * removed (for `all`, those that could be counted).
   */
  async forget(filter: MemoryFilter): Promise<number> {
    const any =
      filter.all === true || filter.ids !== undefined || filter.session !== undefined || filter.before !== undefined
    if (!any) throw new MiradorError('USAGE', 'forget needs ids, a session, a date (before) or all')
    return withFileLock(
      this.lock,
      async () => {
        let removed = 0
        for (const file of await this.files()) {
          if (filter.all) {
            removed += await this.read(file).then(
              (b) => b?.records.length ?? 0,
              () => 0,
            )
            await rm(file, { force: true })
            continue
          }
          const batch = await this.read(file)
          if (!batch) continue
          const keep = batch.records.filter((r) => !matches(r, filter))
          if (keep.length === batch.records.length) continue
          removed += batch.records.length - keep.length
          if (keep.length === 0) await rm(file, { force: true })
          else await sealFile(this.cipher, file, JSON.stringify({ ...batch, records: keep }))
        }
        return removed
      },
      {
        timeoutMs: this.options.lockTimeoutMs ?? 30_000,
        staleMs: this.options.staleLockMs ?? 10_000,
        what: 'the memory outbox',
      },
    )
  }

  /** the batch files, oldest first (their names sort in the order they were put) */
  private async files(): Promise<string[]> {
    return (await listFiles(this.dir, (n) => n.endsWith('.batch') && !n.startsWith('.'))).sort()
  }

  private async read(file: string): Promise<Batch | undefined> {
    const text = await openFile(this.cipher, file)
    if (text === undefined) return undefined // removed meanwhile
    let b: Batch
    try {
      b = JSON.parse(text) as Batch
    } catch (err) {
      throw new MiradorError(
        'MEMORY_CRYPTO',
        `${file}: the outbox batch decrypts but is not valid JSON; delete it or run mirador memory forget --all.`,
        { cause: err },
      )
    }
    if (!b || !Array.isArray(b.records))
      throw new MiradorError('MEMORY_CRYPTO', `${file}: the outbox batch has an unknown shape; delete it.`)
    return b
  }
}

/** whether a record matches every condition the filter gives */
export function matches(r: MemoryRecord, f: MemoryFilter): boolean {
  if (f.all) return true
  if (f.ids !== undefined && !f.ids.includes(r.id)) return false
  if (f.session !== undefined && r.meta.session !== f.session) return false
  if (f.before !== undefined && !(r.meta.createdAt < f.before)) return false
  return true
}

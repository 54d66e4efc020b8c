/**
 * Forgetting on the bundled server so that nothing forgotten stays in its files.
 *
 * What Chroma 1.0.5 keeps after a delete (looked at in its data folder): the write log
 * (`embeddings_queue` in chroma.sqlite3: every vector, sealed document and metadata ever added,
 * purged only up to what the vector index has persisted), the rows' old bytes in free SQLite pages,
 * and in the HNSW files of the collection (`<segment id>/data_level0.bin`) the deleted vectors,
 * only marked deleted. Dropping a collection removes its rows and log but leaves its segment folder.
 *
 * So a forget, once its records are deleted:
 *   - some records: `withPrivateServer` stops the shared server (holding the server lock, so no
 *     Mirador process starts another or writes meanwhile: they wait, or keep their memory in the
 *     outbox), runs a server of its own on the data that no other process finds, and there the
 *     collection is rebuilt (store.ts compact); then, with no server running,
 *   - `chroma vacuum` rewrites chroma.sqlite3 (purging the log of dropped collections, dropping
 *     free pages), and the segment folders that chroma.sqlite3 no longer names are removed;
 *   - all: `wipeBundledData` stops the server and removes the whole data folder.
 * The next use starts the shared server again.
 */
import { execFile } from 'node:child_process'
import { readdir, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { MiradorError } from '../../../engine/errors.js'
import { killOrphans, recordHealth, stopRecorded } from './processes.js'
import { readRecord, readToken, type ChromaPaths } from './records.js'
import { acquire, chromaCli, chromaPaths, DEFAULT_START_TIMEOUT_MS, serverEnv, startWithRetries } from './server.js'
import { KILL_AFTER_MS } from './processes.js'

const VACUUM_TIMEOUT_MS = 120_000
const SEGMENT_DIR = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * Runs `work` against a server of its own on the bundled data, with the shared one stopped, then
 * vacuums and removes unused segment folders (see the module comment).
 */
export async function withPrivateServer<T>(
  home: string,
  env: NodeJS.ProcessEnv,
  work: (server: { url: string; token: string }) => Promise<T>,
): Promise<T> {
  const paths = chromaPaths(home)
  const unlock = await acquire(paths, DEFAULT_START_TIMEOUT_MS + KILL_AFTER_MS * 2 + 5000)
  try {
    await stopAll(paths)
    const token = (await readToken(paths, true))!
    const rec = await startWithRetries(paths, home, env, {
      idleMs: 0,
      startTimeoutMs: DEFAULT_START_TIMEOUT_MS,
      token,
      record: false,
    })
    let result: T
    try {
      result = await work({ url: rec.url, token })
    } finally {
      await stopRecorded(rec, paths, await recordHealth(rec, paths))
    }
    await vacuum(paths)
    await removeUnusedSegments(paths)
    return result
  } finally {
    unlock()
  }
}

/** Stops the bundled server and removes its data folder (forget --all). */
export async function wipeBundledData(home: string): Promise<void> {
  const paths = chromaPaths(home)
  const unlock = await acquire(paths, KILL_AFTER_MS * 2 + 5000)
  try {
    await stopAll(paths)
    await rm(paths.data, { recursive: true, force: true })
  } finally {
    unlock()
  }
}

async function stopAll(paths: ChromaPaths): Promise<void> {
  const rec = await readRecord(paths)
  if (rec) {
    await stopRecorded(rec, paths, await recordHealth(rec, paths))
    await rm(paths.record, { force: true })
  }
  await killOrphans(paths)
}

/** `chroma vacuum` on the data folder (no server may be running on it). */
export async function vacuum(paths: ChromaPaths): Promise<void> {
  const cli = chromaCli()
  const failed = await new Promise<string | undefined>((resolve) => {
    execFile(
      process.execPath,
      [cli, 'vacuum', '--path', paths.data, '--force', '--timeout', String(VACUUM_TIMEOUT_MS / 1000)],
      { env: serverEnv(process.env), timeout: VACUUM_TIMEOUT_MS + 5000, maxBuffer: 1024 * 1024 },
      (err, stdout, stderr) => resolve(err ? `${err.message} ${stderr || stdout}`.trim() : undefined),
    )
  })
  if (failed !== undefined) {
    throw new MiradorError(
      'MEMORY_UNAVAILABLE',
      `the memories were deleted, but compacting the store's files failed (${failed.slice(0, 300)}), ` +
        'so their bytes may still be on disk. Run `mirador memory stop`, then the same forget again.',
      { details: { data: paths.data } },
    )
  }
}

/** Segment folders whose id chroma.sqlite3 (vacuumed) no longer holds: those of dropped collections. */
export async function removeUnusedSegments(paths: ChromaPaths): Promise<string[]> {
  let db: Buffer
  try {
    db = await readFile(path.join(paths.data, 'chroma.sqlite3'))
  } catch {
    return [] // no database: nothing can be told apart, so nothing is removed
  }
  const removed: string[] = []
  for (const e of await readdir(paths.data, { withFileTypes: true })) {
    if (!e.isDirectory() || !SEGMENT_DIR.test(e.name) || db.includes(e.name)) continue
    await rm(path.join(paths.data, e.name), { recursive: true, force: true })
    removed.push(e.name)
  }
  return removed
}

/**
 * Backups of chain files the learner rewrites, the per-file lock every rewrite holds, and rollback.
 *
 * Layout, under `$MIRADOR_HOME/learner/`:
 *
 *   locks/<key>.lock                       the cross-process lock of one chain file (O_EXCL, see
 *                                          ../../lib/file-lock.ts: stale locks of dead processes
 *                                          are broken at once, others after 10 s without refresh)
 *   backups/<key>/index.json               { "version": 1, "path": "/abs/real/path/chain.yaml" }
 *   backups/<key>/<timestamp>.yaml         the file's exact bytes before one rewrite (newest 20 kept)
 *   backups/<key>/<timestamp>.yaml.json    the rating that rewrite applied, `{ runId, ratingAt }`, so
 *                                          a rollback can tell the journal that rating no longer counts
 *   backups/<key>/rolled-back.yaml         the text the last rollback replaced (one file)
 *
 * `<key>` is the first 16 hex digits of SHA-256 of the file's real path (symlinks resolved, so a
 * chain reached through two paths shares one lock and one history). Timestamps are UTC,
 * `2024-05-01T12-30-00.123Z`, strictly increasing per file, so names sort in time order.
 *
 * Rollback is an undo stack: it restores the newest backup whose text differs from the file now
 * (a backup equal to the current text — left by a crash between backup and rename — is skipped and
 * dropped), then removes that backup, so repeated rollbacks walk further back, up to 20 rewrites.
 * Rollback is not itself recorded as a backup (that would make a second rollback undo the first
 * instead of going further back); the text it replaced — the learner's latest weights, and any hand
 * edits made since — is kept in `rolled-back.yaml` beside the backups, so a mistaken rollback can be
 * undone by copying that file back. Rollback holds the same lock as rewrites, writes atomically and
 * keeps the file's mode; it refuses a read-only file, like rewrites.
 */
import { createHash } from 'node:crypto'
import { constants as FS } from 'node:fs'
import { access, chmod, mkdir, readdir, readFile, realpath, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { writeFileAtomic } from '../../lib/atomic-write.js'
import { MiradorError } from '../../engine/errors.js'
import { processGone, withFileLock } from '../../lib/file-lock.js'

/** Backups kept per chain file. */
export const MAX_BACKUPS = 20

/** How long a rewrite waits for another process holding the same chain file's lock. */
const LOCK_TIMEOUT_MS = 15_000

const BACKUP_NAME = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})\.(\d{3})Z\.yaml$/
const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/

export interface BackupEntry {
  /** absolute path of the backup file */
  file: string
  /** ms since the epoch, from the name */
  at: number
}

/** The real absolute path of `file` (symlinks resolved); the resolved path if it does not exist. */
export async function realChainPath(file: string): Promise<string> {
  const abs = path.resolve(file)
  return realpath(abs).catch(() => abs)
}

/** The short stable key of a chain file's real path: names its lock and backup folder. */
export function pathKey(realPath: string): string {
  return createHash('sha256').update(realPath).digest('hex').slice(0, 16)
}

export function learnerDir(home: string): string {
  return path.join(home, 'learner')
}

export function lockFileFor(realPath: string, home: string): string {
  return path.join(learnerDir(home), 'locks', `${pathKey(realPath)}.lock`)
}

export function backupDirFor(realPath: string, home: string): string {
  return path.join(learnerDir(home), 'backups', pathKey(realPath))
}

/** In-process queue per lock file: callers in one process wait their turn without polling. */
const queues = new Map<string, Promise<unknown>>()

/**
 * Runs `fn` holding the chain file's lock: in-process callers are queued, other processes are kept
 * out by the lock file. `realPath` must come from `realChainPath`.
 */
export async function withChainLock<T>(realPath: string, home: string, fn: () => Promise<T>): Promise<T> {
  const lock = lockFileFor(realPath, home)
  const prev = queues.get(lock) ?? Promise.resolve()
  const run = prev
    .catch(() => {})
    .then(() => withFileLock(lock, fn, { timeoutMs: LOCK_TIMEOUT_MS, what: `the chain file ${realPath}` }))
  queues.set(lock, run)
  try {
    return await run
  } finally {
    if (queues.get(lock) === run) queues.delete(lock)
  }
}

/**
 * Removes temp files `writeFileAtomic` left in `dir` when a process died mid-write (their pid is
 * gone). `prefix` limits it to one file's temps (`.<basename>.`). Call only under the lock.
 */
export async function removeDeadTemps(dir: string, prefix = '.'): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[])
  for (const n of names) {
    if (!n.startsWith(prefix)) continue
    const m = TEMP_NAME.exec(n)
    if (m && processGone(Number(m[1]))) await rm(path.join(dir, n), { force: true })
  }
}

function stampName(ms: number): string {
  return `${new Date(ms).toISOString().replace(/:/g, '-')}.yaml`
}

function stampMs(name: string): number | undefined {
  const m = BACKUP_NAME.exec(name)
  if (!m) return undefined
  const ms = Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`)
  return Number.isFinite(ms) ? ms : undefined
}

async function entries(dir: string): Promise<BackupEntry[]> {
  const names = await readdir(dir).catch(() => [] as string[])
  const out: BackupEntry[] = []
  for (const n of names) {
    const at = stampMs(n)
    if (at !== undefined) out.push({ file: path.join(dir, n), at })
  }
  return out.sort((a, b) => a.at - b.at)
}

/** The backups of `file`, oldest first. */
export async function listBackups(file: string, home: string): Promise<BackupEntry[]> {
  return entries(backupDirFor(await realChainPath(file), home))
}

/** The rating a rewrite applied (its run, and the rating's time as the journal has it). */
export interface RatingRef {
  runId: string
  ratingAt: number
}

const ratingFile = (backup: string) => `${backup}.json`

async function ratingOf(backup: string): Promise<RatingRef | undefined> {
  const v = await readFile(ratingFile(backup), 'utf8')
    .then((t) => JSON.parse(t) as Partial<RatingRef>)
    .catch(() => undefined)
  return typeof v?.runId === 'string' && typeof v.ratingAt === 'number'
    ? { runId: v.runId, ratingAt: v.ratingAt }
    : undefined
}

async function removeBackup(backup: string): Promise<void> {
  await rm(backup, { force: true })
  await rm(ratingFile(backup), { force: true })
}

/**
 * Saves `bytes` (a chain file's content before a rewrite) as its newest backup, with the rating
 * that rewrite applies when there is one, and prunes the oldest beyond MAX_BACKUPS. Call under the
 * chain's lock.
 */
export async function saveBackup(
  realPath: string,
  bytes: Uint8Array,
  home: string,
  rating?: RatingRef,
): Promise<BackupEntry> {
  const dir = backupDirFor(realPath, home)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const indexFile = path.join(dir, 'index.json')
  const index = await readFile(indexFile, 'utf8')
    .then((t) => JSON.parse(t) as { path?: unknown })
    .catch(() => undefined)
  if (index?.path !== realPath) {
    await writeFileAtomic(indexFile, JSON.stringify({ version: 1, path: realPath }, null, 2) + '\n', 0o600)
  }
  const existing = await entries(dir)
  const at = Math.max(Date.now(), (existing.at(-1)?.at ?? 0) + 1)
  const entry = { file: path.join(dir, stampName(at)), at }
  if (rating) await writeFileAtomic(ratingFile(entry.file), JSON.stringify(rating) + '\n', 0o600)
  await writeFileAtomic(entry.file, bytes, 0o600)
  existing.push(entry)
  for (const old of existing.slice(0, Math.max(0, existing.length - MAX_BACKUPS))) await removeBackup(old.file)
  await removeDeadTemps(dir)
  return entry
}

/** The file's state as it is on disk now: exact bytes, mode, and whether the user can write it. */
export interface FileState {
  bytes: Buffer
  mode: number
  readOnly: boolean
  ino: number
  size: number
  mtimeMs: number
}

/**
 * A file is read-only when it has no write permission bit at all, or when this process may not
 * write it. (The mode bits are checked too because root passes `access(W_OK)` on any file; a
 * chmod a-w by the user means "leave it alone" whoever runs Mirador.)
 */
export async function fileState(realPath: string): Promise<FileState | undefined> {
  const st = await stat(realPath).catch(() => undefined)
  if (!st || !st.isFile()) return undefined
  const writable =
    (st.mode & 0o222) !== 0 &&
    (await access(realPath, FS.W_OK).then(
      () => true,
      () => false,
    ))
  const bytes = await readFile(realPath)
  return { bytes, mode: st.mode & 0o7777, readOnly: !writable, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs }
}

/**
 * Writes `data` over `realPath` atomically (writeFileAtomic), then gives it `mode` exactly (the
 * temp file was created through the umask, which may have narrowed it).
 */
export async function replaceFile(realPath: string, data: Uint8Array | string, mode: number): Promise<void> {
  try {
    await writeFileAtomic(realPath, data, mode)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new MiradorError(
        'USAGE',
        `${realPath} was not changed: its folder ${path.dirname(realPath)} cannot be written (${code}). ` +
          "Make the folder writable for the learner to update this chain's weights.",
        { cause: err, details: { file: realPath, reason: 'read-only', skipped: true } },
      )
    }
    throw err
  }
  const st = await stat(realPath)
  if ((st.mode & 0o7777) !== mode) await chmod(realPath, mode)
}

export function readOnlyError(realPath: string, action: string): MiradorError {
  return new MiradorError(
    'USAGE',
    `${realPath} is read-only, so ${action} was skipped and the file left unchanged. ` +
      "Make it writable (chmod u+w) to let the learner update this chain's weights.",
    { details: { file: realPath, reason: 'read-only', skipped: true } },
  )
}

/**
 * The newest backup whose bytes differ from `current`; backups equal to it (left by a crash between
 * saving the backup and the rename) are listed in `same`.
 */
export async function latestDifferentBackup(
  realPath: string,
  home: string,
  current: Uint8Array | undefined,
): Promise<{ entry: BackupEntry; bytes: Buffer; same: BackupEntry[] } | undefined> {
  const list = await entries(backupDirFor(realPath, home))
  const same: BackupEntry[] = []
  for (let i = list.length - 1; i >= 0; i--) {
    const entry = list[i]!
    const bytes = await readFile(entry.file).catch(() => undefined)
    if (!bytes) continue
    if (current && Buffer.compare(bytes, current) === 0) {
      same.push(entry)
      continue
    }
    return { entry, bytes, same }
  }
  return undefined
}

/**
 * Restores the newest backup of `file` that differs from its current text (see the file comment).
 * Returns the backup file restored and the rating its rewrite had applied, or undefined when there
 * is none.
 */
export async function rollback(
  file: string,
  home: string,
): Promise<{ restored: string; at: number; rating?: RatingRef } | undefined> {
  const real = await realChainPath(file)
  return withChainLock(real, home, async () => {
    const state = await fileState(real)
    if (state?.readOnly) throw readOnlyError(real, 'the rollback')
    const found = await latestDifferentBackup(real, home, state?.bytes)
    if (!found) return undefined
    const dir = backupDirFor(real, home)
    if (state) await writeFileAtomic(path.join(dir, 'rolled-back.yaml'), state.bytes, 0o600)
    const rating = await ratingOf(found.entry.file)
    await replaceFile(real, found.bytes, state?.mode ?? 0o644)
    for (const e of [found.entry, ...found.same]) await removeBackup(e.file)
    await removeDeadTemps(path.dirname(real), `.${path.basename(real)}.`)
    return { restored: found.entry.file, at: found.entry.at, ...(rating ? { rating } : {}) }
  })
}

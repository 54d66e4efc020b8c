/**
 * Lock files for the memory folders: one process at a time changes a session file
 * (`sessions/<hash>.lock`, SessionStore in ./sessions.ts) or drains/forgets the outbox
 * (`memory/outbox/.lock`, ./outbox.ts). It lives on its own so both use it without either
 * depending on the other.
 *
 * A lock file is created with O_EXCL and holds pid, host and a token. A lock is stale when its
 * process is gone (same host) or when it has not been refreshed for `staleMs` (holders refresh it
 * while they hold it); stale locks are broken under a second O_EXCL guard so two waiters can never
 * both break, or one break a fresh lock. A lock is removed on release only if it is still ours.
 */
import { randomBytes } from 'node:crypto'
import { constants as FS } from 'node:fs'
import { open, readFile, rm, stat, utimes } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { MiradorError } from '../engine/errors.js'
import { ensurePrivateDir } from './crypto.js'

export interface LockOptions {
  /** give up after this long (0: one attempt) */
  timeoutMs?: number
  /** a lock whose file has not been touched for this long is stale */
  staleMs?: number
  /** names the locked thing in the timeout error */
  what?: string
}

interface LockContent {
  pid: number
  host: string
  token: string
  at: number
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** true when no process has this pid on this machine */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return false
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

async function readLock(lock: string): Promise<LockContent | undefined> {
  try {
    const v = JSON.parse(await readFile(lock, 'utf8')) as LockContent
    return typeof v.pid === 'number' && typeof v.token === 'string' ? v : undefined
  } catch {
    return undefined // missing, or its creator has not written it yet
  }
}

/** Breaks `lock` if it is stale; true when it is gone (broken here or by its holder). */
async function breakIfStale(lock: string, staleMs: number): Promise<boolean> {
  const st = await stat(lock).catch(() => undefined)
  if (!st) return true
  const content = await readLock(lock)
  const dead = content !== undefined && content.host === os.hostname() && processGone(content.pid)
  if (!dead && Date.now() - st.mtimeMs <= staleMs) return false
  const guard = `${lock}.break`
  let g
  try {
    g = await open(guard, FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL, 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    const gs = await stat(guard).catch(() => undefined)
    if (gs && Date.now() - gs.mtimeMs > 5000) await rm(guard, { force: true }) // a breaker that died mid-way
    return false
  }
  try {
    // re-check under the guard: the same file (inode), still not refreshed, same holder
    const again = await stat(lock).catch(() => undefined)
    if (!again) return true
    if (again.ino !== st.ino || again.mtimeMs !== st.mtimeMs) return false
    const c2 = await readLock(lock)
    if (c2?.token !== content?.token) return false
    await rm(lock, { force: true })
    return true
  } finally {
    await g.close()
    await rm(guard, { force: true })
  }
}

/**
 * Runs `fn` holding the lock file `lock` (O_EXCL). The lock is refreshed while held and removed
 * after, only if it is still ours. Waits up to `timeoutMs` for another holder, breaking stale
 * locks; then LOCKED naming the holder and the file to delete.
 */
export async function withFileLock<T>(lock: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const release = await acquireLock(lock, opts)
  try {
    return await fn()
  } finally {
    await release()
  }
}

/** As withFileLock, but returns undefined at once (without running `fn`) when the lock is held. */
export async function tryWithFileLock<T>(
  lock: string,
  fn: () => Promise<T>,
  opts: Omit<LockOptions, 'timeoutMs'> = {},
): Promise<{ value: T } | undefined> {
  let release: () => Promise<void>
  try {
    release = await acquireLock(lock, { ...opts, timeoutMs: 0 })
  } catch (err) {
    if (MiradorError.is(err, 'LOCKED') && err.details?.busy) return undefined
    throw err
  }
  try {
    return { value: await fn() }
  } finally {
    await release()
  }
}

async function acquireLock(lock: string, opts: LockOptions): Promise<() => Promise<void>> {
  const timeoutMs = opts.timeoutMs ?? 10_000
  const staleMs = opts.staleMs ?? 10_000
  const deadline = Date.now() + timeoutMs
  const content: LockContent = {
    pid: process.pid,
    host: os.hostname(),
    token: randomBytes(8).toString('hex'),
    at: Date.now(),
  }
  await ensurePrivateDir(path.dirname(lock))
  for (let attempt = 0; ; attempt++) {
    let fh
    try {
      fh = await open(lock, FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL, 0o600)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      if (await breakIfStale(lock, staleMs)) continue
      if (Date.now() >= deadline) {
        const holder = await readLock(lock)
        const by = holder ? `process ${holder.pid} on ${holder.host}` : 'another process'
        throw new MiradorError(
          'LOCKED',
          `${opts.what ?? 'the file'} is locked by ${by} (${lock}); waited ${timeoutMs} ms. ` +
            'If no other Mirador is running, delete the lock file.',
          { details: { lock, busy: true, ...(holder ? { pid: holder.pid } : {}) } },
        )
      }
      await sleep(Math.min(40, 2 + attempt * 2) + Math.random() * 10)
      continue
    }
    try {
      await fh.writeFile(JSON.stringify(content))
    } finally {
      await fh.close()
    }
    const beat = setInterval(
      () => {
        const now = new Date()
        utimes(lock, now, now).catch(() => {})
      },
      Math.max(50, Math.floor(staleMs / 3)),
    )
    beat.unref()
    return async () => {
      clearInterval(beat)
      const cur = await readLock(lock)
      if (cur?.token === content.token) await rm(lock, { force: true })
    }
  }
}

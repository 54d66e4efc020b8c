/**
 * The files of the bundled Chroma server under `$MIRADOR_HOME/memory/` (listed in server.ts): where
 * they are, reading the server record, the guard's token, the last-used stamp, and the log
 * (rotation, last lines).
 */
import { randomBytes } from 'node:crypto'
import { readFile, rename, stat, utimes, writeFile, open as openFile } from 'node:fs/promises'
import path from 'node:path'
import { MiradorError } from '../../../engine/errors.js'
import { createExclusive } from '../../../lib/crypto.js'

export const HOST = '127.0.0.1'
export const LOCK_STALE_MS = 60_000
const LOG_ROTATE_BYTES = 2 * 1024 * 1024
const TOUCH_THROTTLE_MS = 1000

export interface ChromaServerRecord {
  version: 1
  /** the supervisor */
  pid: number
  chromaPid: number
  host: string
  /** the guard's port (guard.ts): the only way in, with the token */
  port: number
  url: string
  /** where Chroma itself listens: in the supervisor's own network when `isolated` */
  chromaPort?: number
  /** Chroma runs in a network namespace of its own: no other process can connect to it */
  isolated?: boolean
  /** ms since the epoch */
  startedAt: number
  dataDir: string
  idleMs: number
  log: string
}

export interface ChromaPaths {
  dir: string
  data: string
  record: string
  lock: string
  stamp: string
  log: string
  /** the guard's token */
  token: string
}

export function chromaPaths(home: string): ChromaPaths {
  const dir = path.join(path.resolve(home), 'memory')
  return {
    dir,
    data: path.join(dir, 'chroma'),
    record: path.join(dir, 'server.json'),
    lock: path.join(dir, 'server.lock'),
    stamp: path.join(dir, 'last-used'),
    log: path.join(dir, 'chroma.log'),
    token: path.join(dir, 'server.token'),
  }
}

/**
 * The guard's token (64 hex characters, mode 0600), created on first use; `create: false` gives
 * undefined when there is none. A token readable by others is no credential: refused with the fix.
 */
export async function readToken(paths: ChromaPaths, create: boolean): Promise<string | undefined> {
  if (create) await createExclusive(paths.token, Buffer.from(randomBytes(32).toString('hex')), 0o600)
  let text: string
  try {
    const st = await stat(paths.token)
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new MiradorError(
        'MEMORY_UNAVAILABLE',
        `${paths.token}, the credential of the local memory store, is readable by other users. ` +
          `Delete it (a new one is made on the next start) after \`mirador memory stop\`.`,
        { details: { file: paths.token } },
      )
    }
    text = (await readFile(paths.token, 'utf8')).trim()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  return text || undefined
}

export async function readRecord(paths: ChromaPaths): Promise<ChromaServerRecord | undefined> {
  let text: string
  try {
    text = await readFile(paths.record, 'utf8')
  } catch {
    return undefined
  }
  try {
    const r = JSON.parse(text) as Partial<ChromaServerRecord>
    if (
      typeof r.pid === 'number' &&
      typeof r.chromaPid === 'number' &&
      typeof r.port === 'number' &&
      typeof r.url === 'string'
    ) {
      return r as ChromaServerRecord
    }
  } catch {
    /* damaged: stale */
  }
  return {
    version: 1,
    pid: 0,
    chromaPid: 0,
    host: HOST,
    port: 0,
    url: '',
    startedAt: 0,
    dataDir: paths.data,
    idleMs: 0,
    log: paths.log,
  }
}

const lastTouch = new Map<string, number>()

/**
 * Marks a Mirador use of the bundled server (resets its idle clock). Cheap (one utimes, at most
 * once a second per process unless `force`), never throws.
 */
export async function touchChromaServer(home: string, opts: { force?: boolean } = {}): Promise<void> {
  const stamp = chromaPaths(home).stamp
  const now = Date.now()
  if (!opts.force && now - (lastTouch.get(stamp) ?? 0) < TOUCH_THROTTLE_MS) return
  lastTouch.set(stamp, now)
  const t = new Date(now)
  try {
    await utimes(stamp, t, t)
  } catch {
    try {
      await writeFile(stamp, '', { mode: 0o600 })
      await utimes(stamp, t, t)
    } catch {
      /* no memory folder yet: nothing is running to keep alive */
    }
  }
}

export async function rotateLog(log: string): Promise<void> {
  const st = await stat(log).catch(() => undefined)
  if (st && st.size > LOG_ROTATE_BYTES) await rename(log, `${log}.1`).catch(() => {})
}

/** The meaningful last lines the log got since `from`: no colours, banner, blank or backtrace lines. */
export async function logTail(log: string, lines: number, from = 0): Promise<string> {
  try {
    const fh = await openFile(log, 'r')
    try {
      const { size } = await fh.stat()
      const start = Math.max(from, size - 64 * 1024)
      const buf = Buffer.alloc(Math.max(0, size - start))
      await fh.read(buf, 0, buf.length, start)
      // eslint-disable-next-line no-control-regex -- removes the ESC [ … m colour codes Chroma writes
      const text = buf.toString('utf8').replace(/\x1b\[[0-9;]*m/g, '')
      return text
        .split('\n')
        .filter((l) => l.trim() !== '' && !/^\s*\d+: |^\s+at |\(\(\(|####|stack backtrace:|RUST_BACKTRACE/.test(l))
        .slice(-lines)
        .join('\n')
    } finally {
      await fh.close()
    }
  } catch {
    return ''
  }
}

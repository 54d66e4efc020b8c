/**
 * A cross-process lock file for the shared Chroma server (`$MIRADOR_HOME/memory/server.lock`).
 *
 * Taken with O_EXCL (`open(…, 'wx')`); the file holds `{pid, nonce, at}`. A lock is stale when its
 * holder's pid is dead, when it is older than `staleMs` (a holder never keeps it that long: it is
 * held only while a server is checked, started or stopped), or when it holds no readable record
 * and is older than 5 s (a holder that died between create and write).
 *
 * Breaking a stale lock is done by renaming it aside (atomic: of two processes that judged it stale
 * at once, one rename wins) and comparing what was moved with what was judged stale; if a fresh
 * lock was moved by mistake (another process broke and re-took it in between), it is linked back.
 * Release removes the file only if it still holds the holder's nonce.
 *
 * `tryLock` and `releaseLock` are self-contained (they use only their arguments and globals), so the
 * supervisor process, which runs from `Function.prototype.toString` source (supervisor.ts), uses the
 * very same code.
 */
import type * as FsModule from 'node:fs'

type Fs = Pick<
  typeof FsModule,
  | 'openSync'
  | 'writeSync'
  | 'closeSync'
  | 'readFileSync'
  | 'statSync'
  | 'renameSync'
  | 'linkSync'
  | 'rmSync'
  | 'unlinkSync'
>

/** Tries once to take the lock (breaking a stale one); returns the holder nonce, or null if held. */
export function tryLock(fs: Fs, file: string, pid: number, staleMs: number): string | null {
  const nonce = `${pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`
  const body = JSON.stringify({ pid, nonce, at: Date.now() })
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o600)
      try {
        fs.writeSync(fd, body)
      } finally {
        fs.closeSync(fd)
      }
      return nonce
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    let text: string
    let mtime: number
    try {
      text = fs.readFileSync(file, 'utf8')
      mtime = fs.statSync(file).mtimeMs
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw err
    }
    let holder: { pid?: unknown; at?: unknown } | null
    try {
      holder = JSON.parse(text) as { pid?: unknown }
    } catch {
      holder = null
    }
    const age = Date.now() - mtime
    let stale: boolean
    if (!holder || typeof holder.pid !== 'number') {
      stale = age > 5000
    } else {
      let alive = true
      try {
        process.kill(holder.pid, 0)
      } catch (err) {
        alive = (err as NodeJS.ErrnoException).code === 'EPERM'
      }
      stale = !alive || age > staleMs
    }
    if (!stale) return null
    const aside = `${file}.stale-${nonce}`
    try {
      fs.renameSync(file, aside)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw err
    }
    let moved: string
    try {
      moved = fs.readFileSync(aside, 'utf8')
    } catch {
      moved = ''
    }
    if (moved !== text) {
      // we moved a lock someone had just taken: put it back (link fails if yet another was made)
      try {
        fs.linkSync(aside, file)
      } catch {
        /* nothing more to do */
      }
    }
    fs.rmSync(aside, { force: true })
    if (moved !== text) return null
  }
  return null
}

/** Removes the lock if it is still the one `nonce` took. */
export function releaseLock(fs: Fs, file: string, nonce: string): void {
  try {
    const held = JSON.parse(fs.readFileSync(file, 'utf8')) as { nonce?: unknown }
    if (held.nonce === nonce) fs.unlinkSync(file)
  } catch {
    /* gone or replaced: not ours to remove */
  }
}

/**
 * Reads a file only if it is a regular file, and at most `maxBytes` of it. Opening a FIFO for
 * reading blocks until a writer comes (forever, for a FIFO planted in a tool or plugin folder) and
 * a device can be endless, so the file is opened non-blocking, checked with fstat on the open
 * handle (the thing actually read, not a path that could be swapped between a stat and the read),
 * and read with a bound. Callers word the refusal for their own users.
 */
import { constants, type Stats } from 'node:fs'
import { open, stat } from 'node:fs/promises'

export type ReadOutcome =
  | { ok: true; text: string; bytes: number }
  | { ok: false; reason: 'not-regular'; kind: string }
  | { ok: false; reason: 'too-large'; bytes: number }
  | { ok: false; reason: 'unreadable'; errno: string }

/** What a non-regular file is, as a noun phrase ("a FIFO (named pipe)"). */
export function fileKind(st: Stats): string {
  if (st.isFile()) return 'a regular file'
  if (st.isDirectory()) return 'a folder'
  if (st.isFIFO()) return 'a FIFO (named pipe)'
  if (st.isSocket()) return 'a socket'
  if (st.isCharacterDevice()) return 'a character device'
  if (st.isBlockDevice()) return 'a block device'
  if (st.isSymbolicLink()) return 'a symbolic link'
  return 'not a regular file'
}

const errnoOf = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code ?? String(err)

// O_NONBLOCK does not exist on Windows, where FIFOs are not files anyway
const FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0)

export async function readRegularFile(file: string, maxBytes: number): Promise<ReadOutcome> {
  let handle
  try {
    handle = await open(file, FLAGS)
  } catch (err) {
    // a socket cannot be opened at all (ENXIO): say what it is rather than the errno
    const st = await stat(file).catch(() => undefined)
    if (st && !st.isFile()) return { ok: false, reason: 'not-regular', kind: fileKind(st) }
    return { ok: false, reason: 'unreadable', errno: errnoOf(err) }
  }
  try {
    const st = await handle.stat()
    if (!st.isFile()) return { ok: false, reason: 'not-regular', kind: fileKind(st) }
    if (st.size > maxBytes) return { ok: false, reason: 'too-large', bytes: st.size }
    // one byte more than allowed, in case the file grew since fstat
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1)
    let n = 0
    while (n < buf.length) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, n)
      if (bytesRead === 0) break
      n += bytesRead
    }
    if (n > maxBytes) return { ok: false, reason: 'too-large', bytes: n }
    return { ok: true, text: buf.toString('utf8', 0, n), bytes: n }
  } catch (err) {
    return { ok: false, reason: 'unreadable', errno: errnoOf(err) }
  } finally {
    await handle.close()
  }
}

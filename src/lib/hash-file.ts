/**
 * The sha256 of a file, streamed: read in 4 MB chunks, never whole into memory (model files are
 * gigabytes), the next chunk read while the last one is hashed. Reports progress in bytes and
 * stops with ABORTED when the signal fires. Given an open FileHandle it hashes exactly what was
 * opened (and checked), not whatever a path names by the time it is read.
 */
import { createHash } from 'node:crypto'
import { open, type FileHandle } from 'node:fs/promises'
import { MiradorError } from '../engine/errors.js'

export interface HashOptions {
  signal?: AbortSignal
  /** bytes hashed so far, of `total` (the size when hashing began) */
  onBytes?: (done: number, total: number) => void
}

export interface FileHash {
  /** lowercase hex */
  sha256: string
  /** bytes hashed */
  size: number
  /** the first 4 bytes (a format's magic), fewer for a shorter file */
  head: Buffer
}

const CHUNK = 4 << 20

export async function hashFile(file: string | FileHandle, options: HashOptions = {}): Promise<FileHash> {
  const handle = typeof file === 'string' ? await open(file, 'r') : file
  try {
    return await hashHandle(handle, options)
  } finally {
    if (typeof file === 'string') await handle.close()
  }
}

async function hashHandle(handle: FileHandle, { signal, onBytes }: HashOptions): Promise<FileHash> {
  const total = (await handle.stat()).size
  const hash = createHash('sha256')
  const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)]
  let pos = 0
  let turn = 0
  let head = Buffer.alloc(0)
  let next = handle.read(buffers[0]!, 0, CHUNK, 0)
  for (;;) {
    if (signal?.aborted) {
      next.catch(() => {}) // settles after we leave; the handle's close waits for it
      throw new MiradorError('ABORTED', 'hashing was cancelled', { cause: signal.reason })
    }
    const { bytesRead, buffer } = await next
    if (bytesRead === 0) break
    pos += bytesRead
    turn ^= 1
    // the other buffer is free: read ahead into it while this one is hashed
    next = handle.read(buffers[turn]!, 0, CHUNK, pos)
    const chunk = buffer.subarray(0, bytesRead)
    if (head.length < 4) head = Buffer.concat([head, chunk.subarray(0, 4 - head.length)])
    hash.update(chunk)
    onBytes?.(pos, total)
  }
  return { sha256: hash.digest('hex'), size: pos, head }
}

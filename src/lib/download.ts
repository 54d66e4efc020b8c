/**
 * Downloads one large file over HTTP(S) with node's fetch, resumably and verified:
 *
 * - bytes go to `DEST.partial` beside the destination; a partial file left by an earlier attempt
 *   (a cut connection, Ctrl-C) is hashed and continued with `Range: bytes=N-`. A 206 whose
 *   Content-Range starts at N is appended; a 200 (a server that ignores ranges) starts over.
 * - redirects are followed (the Hugging Face hub answers `resolve` URLs with a 302 to its CDN);
 * - the sha256 is computed while the bytes arrive; only a file of the expected size and hash is
 *   renamed to its name (atomically), so the destination is either absent or right. A file that
 *   does not match is deleted: resuming it could only reproduce it.
 * - a connection lost mid-body is resumed at once, a few times, as long as each try brings bytes;
 *   a connection that sends nothing for `idleTimeoutMs` counts as lost.
 *
 * Errors are MiradorError: MODEL_DOWNLOAD (network, HTTP status, cut off; the partial file is
 * kept), MODEL_INVALID (size or sha256 mismatch; the partial file is deleted), ABORTED (the signal;
 * the partial file is kept, so the next download resumes).
 */
import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import { MiradorError } from '../engine/errors.js'
import { networkCode, networkReason } from './network-code.js'

export interface DownloadProgress {
  /** bytes of the file on disk so far */
  done: number
  /** the file's size, when known */
  total?: number
  /** bytes that were already there when this download began */
  resumedFrom: number
}

export interface DownloadOptions {
  url: string
  /** the final path; the partial file is `${dest}.partial` */
  dest: string
  /** lowercase hex the file must hash to */
  sha256: string
  /** the size the file must have, when known */
  size?: number
  signal?: AbortSignal
  onProgress?: (p: DownloadProgress) => void
  /** what to tell the user to run to try again (a partial file is resumed) */
  retryHint: string
  /** default globalThis.fetch */
  fetch?: typeof fetch
  /** no byte for this long: the connection counts as lost (default 30000) */
  idleTimeoutMs?: number
  /** tries after a connection lost mid-body, each of which must bring bytes (default 3) */
  resumes?: number
}

export interface DownloadResult {
  path: string
  bytes: number
  /** bytes that were already on disk when the download began */
  resumedFrom: number
  /** HTTP requests made (more than one when a cut connection was resumed) */
  requests: number
  ms: number
}

/** bytes held before a write to the partial file */
const WRITE_BYTES = 1 << 20

/** a connection that broke after some bytes: worth resuming */
class CutOff extends Error {}

export function partialPath(dest: string): string {
  return `${dest}.partial`
}

/** The sha256 state of a partial file's bytes, so far, and their number. */
async function hashPartial(file: string): Promise<{ hash: Hash; size: number }> {
  const hash = createHash('sha256')
  let size = 0
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) {
      hash.update(chunk as Buffer)
      size += (chunk as Buffer).length
    }
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ENOENT') throw err
  }
  return { hash, size }
}

export async function downloadFile(o: DownloadOptions): Promise<DownloadResult> {
  const t0 = performance.now()
  const partial = partialPath(o.dest)
  await mkdir(path.dirname(o.dest), { recursive: true })
  let { hash, size: have } = await hashPartial(partial)
  if (o.size !== undefined && have > o.size) {
    await rm(partial, { force: true })
    ;({ hash, size: have } = { hash: createHash('sha256'), size: 0 })
  }
  const resumedFrom = have
  let requests = 0
  let resumes = o.resumes ?? 3
  for (;;) {
    if (o.size !== undefined && have === o.size) break
    requests++
    try {
      const got = await fetchInto(o, partial, hash, have)
      hash = got.hash
      have = got.size
      break
    } catch (err) {
      if (!(err instanceof CutOff)) throw err
      const before = have
      ;({ hash, size: have } = await hashPartial(partial))
      if (resumes-- <= 0 || have === before) {
        throw new MiradorError(
          'MODEL_DOWNLOAD',
          `the download from ${hostOf(o.url)} was cut off at ${have.toLocaleString('en-US')} bytes` +
            `${o.size ? ` of ${o.size.toLocaleString('en-US')}` : ''} (${err.message}). ` +
            `What arrived is kept: run \`${o.retryHint}\` again to resume.`,
          { cause: err.cause, details: { url: o.url, bytes: have } },
        )
      }
    }
  }
  const actual = hash.digest('hex')
  if ((o.size !== undefined && have !== o.size) || actual !== o.sha256) {
    await rm(partial, { force: true })
    const what =
      o.size !== undefined && have !== o.size
        ? `${have.toLocaleString('en-US')} bytes instead of ${o.size.toLocaleString('en-US')}`
        : `sha256 ${actual} instead of the pinned ${o.sha256}`
    throw new MiradorError(
      'MODEL_INVALID',
      `the file downloaded from ${o.url} is not the one pinned: ${what}. It was deleted. ` +
        'The source or the pin in models/manifest.yaml is wrong (or the download was tampered with): ' +
        'check both, then run `' +
        o.retryHint +
        '` again.',
      { details: { url: o.url, sha256: actual, expected: o.sha256, bytes: have } },
    )
  }
  await rename(partial, o.dest)
  const dir = await open(path.dirname(o.dest), 'r').catch(() => undefined)
  await dir?.sync().catch(() => {})
  await dir?.close()
  return { path: o.dest, bytes: have, resumedFrom, requests, ms: Math.round(performance.now() - t0) }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}

/** One request: what it brings is appended to the partial file and the hash. Throws CutOff when the body breaks. */
async function fetchInto(
  o: DownloadOptions,
  partial: string,
  hash: Hash,
  have: number,
): Promise<{ hash: Hash; size: number }> {
  const idle = new AbortController()
  const signal = o.signal ? AbortSignal.any([o.signal, idle.signal]) : idle.signal
  const idleMs = o.idleTimeoutMs ?? 30_000
  let last = performance.now()
  const timer = setInterval(
    () => {
      if (performance.now() - last >= idleMs) idle.abort(new Error(`nothing arrived for ${idleMs / 1000} s`))
    },
    Math.min(idleMs, 1000),
  )
  timer.unref()
  let res: Response
  try {
    res = await (o.fetch ?? fetch)(o.url, {
      headers: { ...(have > 0 ? { Range: `bytes=${have}-` } : {}), 'User-Agent': 'mirador' },
      redirect: 'follow',
      signal,
    })
  } catch (err) {
    clearInterval(timer)
    throw requestError(o, err)
  }
  let fh: FileHandle | undefined
  try {
    let start = have
    if (res.status === 206) {
      start = Number(/^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1] ?? NaN)
      if (start !== have) throw new CutOff(`the server resumed at byte ${start}, not ${have}`)
    } else if (res.status === 200) {
      start = 0
    } else if (res.status === 416 && have > 0) {
      // the partial file is longer than what the server has: it cannot be right
      await rm(partial, { force: true })
      throw new CutOff('the server has no bytes past the partial file')
    } else {
      throw statusError(o, res.status)
    }
    const total = contentTotal(res, start) ?? o.size
    if (o.size !== undefined && total !== undefined && total !== o.size) {
      throw new MiradorError(
        'MODEL_INVALID',
        `${o.url} is ${total.toLocaleString('en-US')} bytes, not the ${o.size.toLocaleString('en-US')} ` +
          'the manifest says: the source or the manifest is wrong. Nothing was kept.',
        { details: { url: o.url, bytes: total, expected: o.size } },
      )
    }
    if (start === 0 && have > 0) hash = createHash('sha256')
    fh = await open(partial, start === 0 ? 'w' : 'a')
    let size = start
    o.onProgress?.({ done: size, ...(total !== undefined ? { total } : {}), resumedFrom: have })
    // chunks arrive at 16-64 kB: written a megabyte at a time, and whatever is held when the body
    // breaks is written before the error, so the partial file has every byte that arrived
    const file = fh
    let held: Uint8Array[] = []
    let heldBytes = 0
    let writeError: MiradorError | undefined
    const flush = async () => {
      if (!heldBytes) return
      const data = held.length === 1 ? held[0]! : Buffer.concat(held, heldBytes)
      held = []
      heldBytes = 0
      await file.write(data).catch((err: unknown) => {
        throw (writeError = new MiradorError(
          'MODEL_DOWNLOAD',
          `cannot write ${partial} (${err instanceof Error ? err.message : String(err)}). ` +
            `Free some disk space, then run \`${o.retryHint}\` again.`,
          { cause: err },
        ))
      })
    }
    try {
      for await (const chunk of res.body ?? []) {
        last = performance.now()
        const buf = chunk as Uint8Array
        hash.update(buf)
        held.push(buf)
        heldBytes += buf.length
        size += buf.length
        if (heldBytes >= WRITE_BYTES) await flush()
        o.onProgress?.({ done: size, ...(total !== undefined ? { total } : {}), resumedFrom: have })
      }
      await flush()
    } catch (err) {
      if (writeError) throw writeError
      await flush()
      if (o.signal?.aborted) throw abortedError(size, o)
      const cut = new CutOff(idle.signal.aborted ? String((idle.signal.reason as Error).message) : 'connection lost')
      cut.cause = err
      throw cut
    }
    await fh.sync()
    if (total !== undefined && size < total) throw new CutOff(`the body ended at byte ${size} of ${total}`)
    return { hash, size }
  } finally {
    clearInterval(timer)
    await fh?.close()
    if (!res.bodyUsed) await res.body?.cancel().catch(() => {})
  }
}

/** The whole file's size from a response starting at `start`: Content-Range's total, else Content-Length. */
function contentTotal(res: Response, start: number): number | undefined {
  const range = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '')
  if (range) return Number(range[1])
  const length = res.headers.get('content-length')
  return length !== null && /^\d+$/.test(length) ? start + Number(length) : undefined
}

function abortedError(size: number, o: DownloadOptions): MiradorError {
  return new MiradorError(
    'ABORTED',
    `the download was stopped at ${size.toLocaleString('en-US')} bytes; what arrived is kept: ` +
      `run \`${o.retryHint}\` to resume`,
  )
}

function requestError(o: DownloadOptions, err: unknown): MiradorError {
  if (o.signal?.aborted) return abortedError(0, o)
  const code = networkCode(err)
  const reason = networkReason(code) ?? (err instanceof Error ? err.message : String(err))
  return new MiradorError(
    'MODEL_DOWNLOAD',
    `cannot reach ${hostOf(o.url)} (${reason}). Check the network (and a proxy or MIRADOR_HF_ENDPOINT), ` +
      `then run \`${o.retryHint}\` again.`,
    { cause: err, details: { url: o.url, ...(code ? { code } : {}) } },
  )
}

function statusError(o: DownloadOptions, status: number): MiradorError {
  const why =
    status === 404
      ? 'not found: the repository, file or revision in models/manifest.yaml does not exist there'
      : status === 401 || status === 403
        ? 'refused: the repository may be private or gated'
        : status === 429
          ? 'too many requests: wait a minute'
          : 'the server failed'
  return new MiradorError(
    'MODEL_DOWNLOAD',
    `${o.url} answered HTTP ${status} (${why}). Then run \`${o.retryHint}\` again.`,
    {
      details: { url: o.url, status },
    },
  )
}

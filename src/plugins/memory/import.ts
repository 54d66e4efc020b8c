/**
 * `mirador memory import FILE.jsonl`: one memory per line, `{text, at?, session?, ref?}`.
 *
 * Each line becomes a memory as a run's would: redacted, embedded with the store's embedder,
 * sealed by the store. A bad line (not JSON, a missing or empty `text`, an `at` that is not an ISO
 * time, a session name `--session` would refuse, an unknown key) is reported by its line number
 * and skipped; blank lines are ignored. Unknown keys are refused rather than dropped, so a typo
 * (`sesion`) does not quietly lose the session.
 *
 * `ref` is the user's own id for the memory (a string or a number), given back by search as it was
 * given. It is not redacted (it must come back unchanged) but it is sealed like the text, since an
 * id can hold anything.
 *
 * Lines are read as a stream and written in batches (embed, then one store add per batch), so a
 * large file never sits in memory whole and the progress callback hears of each batch. What was
 * written before a failure of the store stays written; the report says how far it got.
 */
import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { MiradorError } from '../../engine/errors.js'
import type { Embedder } from '../../lib/embedder.js'
import { redact } from './redact.js'
import { validateSessionName } from './sessions.js'
import type { MemoryRecord, MemoryStore } from './types.js'

export const IMPORT_KEYS = ['text', 'at', 'session', 'ref'] as const
/** the longest text one imported memory may hold, in characters (a memory is recalled into prompts) */
export const MAX_IMPORT_TEXT = 20_000
/** the longest `ref`, in characters */
export const MAX_REF = 500
/** bad lines listed in a report at most (all are counted) */
export const MAX_REPORTED_ERRORS = 1000
const DEFAULT_BATCH = 128

export interface ImportItem {
  text: string
  /** ms since the epoch */
  at?: number
  session?: string
  ref?: string | number
}

/** An ISO 8601 date or date-time: 2026-03-01, 2026-03-01T09:30, …:05.123Z, …+02:00 */
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/

/** One line of an import file: the item, or why it is refused. */
export function parseImportLine(line: string): { item: ImportItem } | { error: string } {
  let v: unknown
  try {
    v = JSON.parse(line)
  } catch {
    return { error: 'not JSON: each line must be one object like {"text": "…"}' }
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    return { error: 'not an object: each line must be one object like {"text": "…"}' }
  const o = v as Record<string, unknown>
  const unknown = Object.keys(o).filter((k) => !(IMPORT_KEYS as readonly string[]).includes(k))
  if (unknown.length)
    return { error: `unknown key ${unknown.map((k) => JSON.stringify(k)).join(', ')}: use ${IMPORT_KEYS.join(', ')}` }
  if (typeof o.text !== 'string' || o.text.trim() === '') return { error: '"text" is missing or empty' }
  if (o.text.length > MAX_IMPORT_TEXT)
    return { error: `"text" is ${o.text.length} characters long; a memory holds at most ${MAX_IMPORT_TEXT}` }
  const item: ImportItem = { text: o.text }
  if (o.at !== undefined) {
    const at = typeof o.at === 'string' && ISO.test(o.at) ? Date.parse(o.at) : Number.NaN
    if (!Number.isFinite(at)) return { error: `"at" must be an ISO time like 2026-03-01T09:30:00Z, not ${short(o.at)}` }
    item.at = at
  }
  if (o.session !== undefined) {
    try {
      item.session = validateSessionName(o.session)
    } catch (err) {
      return { error: (err as Error).message }
    }
  }
  if (o.ref !== undefined) {
    const ok = (typeof o.ref === 'string' && o.ref.length <= MAX_REF) || (typeof o.ref === 'number' && isFinite(o.ref))
    if (!ok)
      return { error: `"ref" must be a string of at most ${MAX_REF} characters or a number, not ${short(o.ref)}` }
    item.ref = o.ref as string | number
  }
  return { item }
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v)
  return s.length > 40 ? `${s.slice(0, 39)}…` : s
}

/** The lines of a file, read as a stream (any line ending). */
export function readLines(file: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })
}

/**
 * A first pass over the file: its lines (for a progress total) and its non-blank ones (the most
 * memories it can make). Says clearly when the file is not there or not a file.
 */
export async function countLines(file: string): Promise<{ lines: number; memories: number }> {
  const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new MiradorError('USAGE', `cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, {
      cause: err,
    })
  })
  if (!info.isFile()) throw new MiradorError('USAGE', `${file} is not a file: give a JSONL file, one memory a line`)
  let lines = 0
  let memories = 0
  for await (const line of readLines(file)) {
    lines++
    if (line.trim() !== '') memories++
  }
  return { lines, memories }
}

export interface ImportProgress {
  /** lines read so far (blank ones included) */
  lines: number
  imported: number
  skipped: number
}

export interface ImportReport extends ImportProgress {
  /** the run id every imported memory carries (`memory show` names it) */
  runId: string
  /** memories in which redaction replaced something */
  redacted: number
  /** the first MAX_REPORTED_ERRORS bad lines, by line number (1-based) */
  errors: { line: number; message: string }[]
}

export interface ImportOptions {
  store: Pick<MemoryStore, 'add'>
  embedder: Pick<Embedder, 'embed'>
  redactPatterns: string[]
  runId: string
  /** the time of memories without `at` (default Date.now()) */
  now?: number
  /** memories per embed-and-add (default 128) */
  batchSize?: number
  onProgress?: (p: ImportProgress) => void
}

/** Reads `lines` (in file order), and writes the good ones in batches; see the file's comment. */
export async function importLines(lines: AsyncIterable<string>, opts: ImportOptions): Promise<ImportReport> {
  const batchSize = opts.batchSize ?? DEFAULT_BATCH
  const now = opts.now ?? Date.now()
  const report: ImportReport = { runId: opts.runId, lines: 0, imported: 0, skipped: 0, redacted: 0, errors: [] }
  let batch: { text: string; item: ImportItem; line: number }[] = []
  const write = async () => {
    const vectors = await opts.embedder.embed(batch.map((b) => b.text))
    if (vectors.length !== batch.length)
      throw new MiradorError('INTERNAL', `the embedder gave ${vectors.length} vectors for ${batch.length} texts`)
    const records = batch.map(
      (b, i): MemoryRecord => ({
        // 48 random bits: thousands of memories are made in the same millisecond
        id: `m_${Date.now().toString(36)}${randomBytes(6).toString('hex')}`,
        text: b.text,
        embedding: vectors[i]!,
        meta: {
          chain: 'import',
          ...(b.item.session !== undefined ? { session: b.item.session } : {}),
          ...(b.item.ref !== undefined ? { ref: b.item.ref } : {}),
          runId: opts.runId,
          createdAt: b.item.at ?? now,
          kind: 'import',
          recalls: 0,
        },
      }),
    )
    await opts.store.add(records)
  }
  const flush = async () => {
    if (batch.length === 0) return
    try {
      await write()
    } catch (err) {
      throw stoppedAt(err, batch[0]!.line, report.imported)
    }
    report.imported += batch.length
    batch = []
    opts.onProgress?.({ lines: report.lines, imported: report.imported, skipped: report.skipped })
  }
  for await (const raw of lines) {
    report.lines++
    const line = report.lines === 1 ? raw.replace(/^\uFEFF/, '') : raw
    if (line.trim() === '') continue
    const parsed = parseImportLine(line)
    if ('error' in parsed) {
      report.skipped++
      if (report.errors.length < MAX_REPORTED_ERRORS) report.errors.push({ line: report.lines, message: parsed.error })
      continue
    }
    const r = redact(parsed.item.text, opts.redactPatterns)
    if (r.found.length) report.redacted++
    batch.push({ text: r.text, item: parsed.item, line: report.lines })
    if (batch.length >= batchSize) await flush()
  }
  await flush()
  opts.onProgress?.({ lines: report.lines, imported: report.imported, skipped: report.skipped })
  return report
}

/** A failed batch: the cause, with how far the import got and how to go on from there. */
function stoppedAt(err: unknown, line: number, imported: number): MiradorError {
  const e = MiradorError.from(err, 'MEMORY_UNAVAILABLE')
  return new MiradorError(
    e.code,
    `${e.message} The import stopped at line ${line}: the ${imported} memories before it were imported, ` +
      `nothing from line ${line} on. Import the rest with \`tail -n +${line} FILE > rest.jsonl\`.`,
    { cause: err, details: { ...e.details, line, imported } },
  )
}

/**
 * The learner's journal: `$MIRADOR_HOME/learner/journal.jsonl`, one JSON object a line, append-only
 * (except `forget`, below), the source of truth every weight can be rebuilt from.
 *
 * Writing. `append` writes one line with O_APPEND in a single write and fsyncs it before it
 * returns, holding `learner/journal.lock` (file-lock.ts) while it does. A lone line would not need
 * the lock on Linux (an O_APPEND write is positioned and written atomically), but `forget`
 * rewrites the file through a rename, and an appender that had opened the old file before the
 * rename would write into the unlinked file and lose its line; appenders and `forget` share the
 * lock, so neither can happen. The lock also lets an append see whether the file ends in the middle
 * of a line (a crash tore the previous append) and start on a new line, so one torn line never
 * swallows the next good one. The file and its folder are private (0600 / 0700): run lines hold
 * the user's queries.
 *
 * Reading. `read` parses every line; a line that is not a journal entry is skipped and reported
 * through `onWarning` (the constructor's or read's own): the usual case is a torn last line after
 * a crash, which is expected and harmless, but a damaged line in the middle is reported the same
 * way rather than failing the whole journal.
 *
 * Forgetting. `forget(predicate)` removes the `query` text of the matching runs (the learner
 * forgets text when the user forgets memories) and keeps everything else, so ratings and weights
 * stay. It rewrites the file atomically (temp file, fsync, rename, folder fsync) under the lock.
 * Lines that cannot be parsed are dropped by the rewrite: they cannot be read anyway, and a torn
 * run line may hold query text that could not otherwise be forgotten.
 *
 * Weights. The weight of a chain for a query type is the posterior mean of a Beta distribution
 * over "this user rates this chain's answer to such a query 4 or 5": the prior is the YAML weight
 * w0 counted as n0 pseudo-ratings (`priorStrength`, default 2), so after n ratings with s successes
 * the weight is (w0·n0 + s) / (n0 + n). `updateWeight` does this one rating at a time:
 *
 *     w' = (w·(n + n0) + x) / (n + n0 + 1),   n' = n + 1,   x = 1 if the rating is ≥ 4 else 0
 *
 * which is the same thing, since w·(n + n0) = w0·n0 + s. A weight set by hand (a `set` entry, or
 * an edited chain file) replaces w and keeps n: the hand-set value is then taken as the mean of
 * all n + n0 pseudo-ratings so far. `rebuildWeights` replays a journal through `updateWeight`, so
 * replaying gives exactly the weights the incremental updates gave.
 */
import { constants as FS, readFileSync } from 'node:fs'
import { open, readFile } from 'node:fs/promises'
import path from 'node:path'
import { writeFileAtomic } from '../../lib/atomic-write.js'
import { MiradorError } from '../../engine/errors.js'
import { ensurePrivateDir } from '../../lib/crypto.js'
import { withFileLock } from '../../lib/file-lock.js'
import type { JournalEntry, WeightState, Weights } from './types.js'

export type RunEntry = Extract<JournalEntry, { kind: 'run' }>
export type RatingEntry = Extract<JournalEntry, { kind: 'rating' }>
export type SetEntry = Extract<JournalEntry, { kind: 'set' }>

/** A rating counts as a success when it is at least this. */
export const SUCCESS_RATING = 4
/** How many ratings the YAML weight counts for, unless configured. */
export const DEFAULT_PRIOR_STRENGTH = 2
/** The weight of a (chain, type) nobody has rated or set. */
export const DEFAULT_WEIGHT = 0.5

export interface JournalOptions {
  /** told about each line `read` skips (a torn last line after a crash, a damaged line) */
  onWarning?: (message: string) => void
  /** how long an append or forget waits for another process's lock (default 10 s) */
  lockTimeoutMs?: number
}

export interface ReadOptions {
  onWarning?: (message: string) => void
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0
const isOptionalText = (v: unknown): boolean => v === undefined || typeof v === 'string'

type Fields = Record<string, unknown>

const isRun = (e: Fields): e is RunEntry =>
  e.kind === 'run' &&
  isNum(e.at) &&
  isStr(e.runId) &&
  isStr(e.chain) &&
  isStr(e.type) &&
  isOptionalText(e.query) &&
  isOptionalText(e.file)

const isRating = (e: Fields): e is RatingEntry =>
  e.kind === 'rating' && isNum(e.at) && isStr(e.runId) && isStr(e.chain) && isStr(e.type) && isNum(e.rating)

const isSet = (e: Fields): e is SetEntry =>
  e.kind === 'set' &&
  isNum(e.at) &&
  isStr(e.chain) &&
  isStr(e.type) &&
  isNum(e.weight) &&
  e.weight >= 0 &&
  e.weight <= 1

/** The entry `value` is, or undefined when it is not one (extra fields are kept). */
export function parseEntry(value: unknown): JournalEntry | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const e = value as Fields
  return isRun(e) || isRating(e) || isSet(e) ? e : undefined
}

interface Parsed {
  entries: JournalEntry[]
  /** the non-blank lines as they are in the file, each with its entry (undefined: unreadable) */
  lines: { text: string; entry: JournalEntry | undefined }[]
}

function parseText(text: string, file: string, onWarning?: (message: string) => void): Parsed {
  const raw = text.split('\n')
  const tail = raw.pop() // '' when the file ends with a newline (or is empty)
  const entries: JournalEntry[] = []
  const lines: Parsed['lines'] = []
  const take = (line: string, n: number, torn: boolean) => {
    if (line.trim() === '') return
    let entry: JournalEntry | undefined
    try {
      entry = parseEntry(JSON.parse(line))
    } catch {
      entry = undefined
    }
    lines.push({ text: line, entry })
    if (entry) entries.push(entry)
    else
      onWarning?.(
        torn
          ? `${file}: skipped an incomplete last line (${line.length} bytes), ` +
              'most likely an append cut short by a crash'
          : `${file}:${n}: skipped a line that is not a journal entry`,
      )
  }
  raw.forEach((line, i) => take(line, i + 1, false))
  // a last line without its newline is complete only if it parses (a prefix of a JSON object never does)
  if (tail) take(tail, raw.length + 1, true)
  return { entries, lines }
}

export class Journal {
  readonly file: string
  readonly lockFile: string
  readonly #options: JournalOptions

  constructor(
    readonly home: string,
    options: JournalOptions = {},
  ) {
    this.file = path.join(home, 'learner', 'journal.jsonl')
    this.lockFile = path.join(home, 'learner', 'journal.lock')
    this.#options = options
  }

  #lock<T>(fn: () => Promise<T>): Promise<T> {
    return withFileLock(this.lockFile, fn, {
      what: 'the learner journal',
      timeoutMs: this.#options.lockTimeoutMs ?? 10_000,
    })
  }

  /** Appends one entry as one line, fsynced before this returns. */
  async append(entry: JournalEntry): Promise<void> {
    if (!parseEntry(entry)) throw new MiradorError('INTERNAL', `not a journal entry: ${JSON.stringify(entry)}`)
    const line = JSON.stringify(entry) + '\n'
    await ensurePrivateDir(path.dirname(this.file))
    await this.#lock(async () => {
      const fh = await open(this.file, FS.O_RDWR | FS.O_APPEND | FS.O_CREAT, 0o600)
      let created: boolean
      try {
        const { size } = await fh.stat()
        created = size === 0
        let prefix = ''
        if (size > 0) {
          const last = Buffer.alloc(1)
          await fh.read(last, 0, 1, size - 1)
          if (last[0] !== 0x0a) prefix = '\n' // the previous append was torn: keep it on its own line
        }
        const data = Buffer.from(prefix + line, 'utf8')
        // one write for a line (a regular file takes it whole); loop only in case the kernel did not
        for (let off = 0; off < data.length; ) off += (await fh.write(data, off, data.length - off)).bytesWritten
        await fh.sync()
      } finally {
        await fh.close()
      }
      if (created) {
        // the new file's name is durable only once its folder is synced
        const d = await open(path.dirname(this.file), 'r').catch(() => undefined)
        await d?.sync().catch(() => {})
        await d?.close()
      }
    })
  }

  /** Every entry, in the order written; [] when there is no journal yet. */
  async read(options: ReadOptions = {}): Promise<JournalEntry[]> {
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
    return parseText(text, this.file, options.onWarning ?? this.#options.onWarning).entries
  }

  /** As `read`, synchronously. */
  readSync(options: ReadOptions = {}): JournalEntry[] {
    let text: string
    try {
      text = readFileSync(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
    return parseText(text, this.file, options.onWarning ?? this.#options.onWarning).entries
  }

  /** The last run recorded (for `mirador rate --last`). */
  async lastRun(): Promise<RunEntry | undefined> {
    const entries = await this.read()
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!
      if (e.kind === 'run') return e
    }
    return undefined
  }

  /** The run recorded with this id (the last one, should an id ever repeat). */
  async findRun(runId: string): Promise<RunEntry | undefined> {
    const entries = await this.read()
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!
      if (e.kind === 'run' && e.runId === runId) return e
    }
    return undefined
  }

  /**
   * Removes the query text of every run `predicate` matches (runs without text are not offered);
   * ratings, types and chains stay. Returns how many runs lost their text. Unreadable lines are
   * dropped by the rewrite (see the file's comment). Nothing is rewritten when nothing changes.
   */
  async forget(predicate: (run: RunEntry) => boolean): Promise<number> {
    return this.#lock(async () => {
      let text: string
      try {
        text = await readFile(this.file, 'utf8')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0
        throw err
      }
      const { lines } = parseText(text, this.file)
      let forgotten = 0
      let dropped = 0
      const out: string[] = []
      for (const l of lines) {
        if (!l.entry) {
          dropped++
          continue
        }
        if (l.entry.kind === 'run' && l.entry.query !== undefined && predicate(l.entry)) {
          const { query: _query, ...rest } = l.entry
          out.push(JSON.stringify(rest))
          forgotten++
        } else out.push(l.text)
      }
      if (forgotten === 0 && dropped === 0) return 0
      await writeFileAtomic(this.file, out.map((l) => l + '\n').join(''), 0o600)
      return forgotten
    })
  }
}

/**
 * One rating applied to a weight: the posterior mean of a Beta whose prior is the YAML weight
 * with strength n0 = `priorStrength` (see the file's comment):
 * w' = (w·(n + n0) + x) / (n + n0 + 1), n' = n + 1, x = 1 for a success (rating ≥ 4), else 0.
 */
export function updateWeight(
  state: WeightState,
  success: boolean,
  priorStrength = DEFAULT_PRIOR_STRENGTH,
): WeightState {
  if (!(Number.isFinite(priorStrength) && priorStrength >= 0))
    throw new MiradorError('USAGE', `the prior strength must be a number ≥ 0, not ${priorStrength}`)
  const w = clamp01(state.weight)
  const n = Math.max(0, state.count)
  const m = n + priorStrength
  return { weight: clamp01((w * m + (success ? 1 : 0)) / (m + 1)), count: n + 1 }
}

export interface RebuildOptions {
  priorStrength?: number
}

/**
 * Replays the journal in order. Each (chain, type) starts at `{ weight: prior(chain, type) ?? 0.5,
 * count: 0 }` when first met; a `set` entry replaces the weight and keeps the count; each
 * `rating` applies `updateWeight` (success: rating ≥ 4). Run entries do not change weights. Pairs
 * never rated nor set are absent from the result.
 */
export function rebuildWeights(
  entries: readonly JournalEntry[],
  prior?: (chain: string, type: string) => number | undefined,
  options: RebuildOptions = {},
): Weights {
  const n0 = options.priorStrength ?? DEFAULT_PRIOR_STRENGTH
  const byChain = new Map<string, Map<string, WeightState>>()
  const stateOf = (chain: string, type: string): [Map<string, WeightState>, WeightState] => {
    let types = byChain.get(chain)
    if (!types) byChain.set(chain, (types = new Map()))
    let s = types.get(type)
    if (!s) {
      const p = prior?.(chain, type)
      s = { weight: p !== undefined && Number.isFinite(p) ? clamp01(p) : DEFAULT_WEIGHT, count: 0 }
      types.set(type, s)
    }
    return [types, s]
  }
  for (const e of entries) {
    if (e.kind === 'set') {
      const [types, s] = stateOf(e.chain, e.type)
      types.set(e.type, { weight: clamp01(e.weight), count: s.count })
    } else if (e.kind === 'rating') {
      const [types, s] = stateOf(e.chain, e.type)
      types.set(e.type, updateWeight(s, e.rating >= SUCCESS_RATING, n0))
    }
  }
  // fromEntries defines own properties, so a chain or type named like an Object.prototype key is safe
  return Object.fromEntries([...byChain].map(([chain, types]) => [chain, Object.fromEntries(types)]))
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : DEFAULT_WEIGHT
}

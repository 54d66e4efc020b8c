/**
 * The learner's journal: `$MIRADOR_HOME/learner/journal.jsonl`, one JSON object a line, append-only
 * (except `forget` and the one-time sealing of an old journal, below), the source of truth every
 * weight can be rebuilt from.
 *
 * What a line holds. A run line keeps only its id and time in the clear:
 * `{"kind":"run","runId":"r_…","at":…,"sealed":"v1:…"}`; the rest — the chain and its file, the
 * query's type, the query's embedding (vector-codec.ts) and a keyed hash of its session
 * (lib/session-hash.ts) — is sealed with the memory key (lib/crypto.ts, AES-256-GCM), like session
 * files. The query's text and the session's name are never written. Rating lines
 * (`{"kind":"rating","runId","chain","type","rating","at"}`), `set` and `undo` lines hold no text
 * of the user's and stay in the clear, so weights, `learn report` and routing read them without the
 * key, and a new key (after `memory forget --all`) never costs the ratings.
 *
 * Journals written before sealing hold run lines in the clear, with the query's text and the
 * session's name. They are read as they are until the journal's first write (an append or a
 * forget), which rewrites the whole file sealed, under the lock, atomically: the text is replaced
 * by its embedding (`embed`, when given), the name by its keyed hash, nothing else changes.
 *
 * Writing. `append` writes one line with O_APPEND in a single write and fsyncs it before it
 * returns, holding `learner/journal.lock` (file-lock.ts) while it does. A lone line would not need
 * the lock on Linux (an O_APPEND write is positioned and written atomically), but `forget`
 * rewrites the file through a rename, and an appender that had opened the old file before the
 * rename would write into the unlinked file and lose its line; appenders and `forget` share the
 * lock, so neither can happen. The lock also lets an append see whether the file ends in the middle
 * of a line (a crash tore the previous append) and start on a new line, so one torn line never
 * swallows the next good one. The file and its folder are private (0600 / 0700).
 *
 * Reading. `read` parses every line; a line that is not a journal entry, or a run line that does
 * not open with the current key, is skipped and reported through `onWarning` (the constructor's or
 * read's own): the usual case is a torn last line after a crash, which is expected and harmless,
 * but a damaged line in the middle is reported the same way rather than failing the whole journal.
 * The key is loaded only when a run line must be opened or sealed.
 *
 * Forgetting (`forget`). Every run the request matches (its id, its time, its session) loses its
 * embedding and its session hash; its chain and type stay, so it can still be rated and the
 * ratings keep counting. `all` removes every run line. Lines that cannot be read (torn, or sealed
 * with another key) are dropped by the rewrite: they cannot be read anyway, and may hold what is
 * being forgotten. The file is rewritten atomically (temp file, fsync, rename, folder fsync) under
 * the lock, and only when something changes.
 *
 * Weights. The weight of a chain for a query type is the posterior mean of a Beta distribution
 * over "this user rates this chain's answer to such a query 4 or 5": the prior is the YAML weight
 * w0 counted as n0 pseudo-ratings (`priorStrength`, default 2), so after n ratings with s successes
 * the weight is (w0·n0 + s) / (n0 + n). `updateWeight` does this one rating at a time:
 *
 *     w' = (w·(n + n0) + x) / (n + n0 + 1),   n' = n + 1,   x = 1 if the rating is ≥ 4 else 0
 *
 * which is the same thing, since w·(n + n0) = w0·n0 + s. Rating a run again replaces its earlier
 * rating rather than adding one (`replaceRating`: s changes by x − x_old, n stays):
 *
 *     w' = (w·(n + n0) − x_old + x) / (n + n0)
 *
 * A rating an `undo` names (written by `learn rollback`, which put the chain file back as it was
 * before that rating) no longer counts. A weight set by hand (a `set` entry, or an edited chain
 * file) replaces w and keeps n: the hand-set value is then taken as the mean of all n + n0
 * pseudo-ratings so far. `rebuildWeights` replays a journal through these, so replaying gives
 * exactly the weights the incremental updates gave.
 */
import { constants as FS } from 'node:fs'
import { open, readFile } from 'node:fs/promises'
import path from 'node:path'
import { writeFileAtomic } from '../../lib/atomic-write.js'
import { MiradorError } from '../../engine/errors.js'
import { ensurePrivateDir, type Cipher } from '../../lib/crypto.js'
import { withFileLock } from '../../lib/file-lock.js'
import { sessionHash, type KeyedHasher } from '../../lib/session-hash.js'
import type { JournalEntry, RunEntry, StoredVector, WeightState, Weights } from './types.js'
import { packVector, unpackVector } from './vector-codec.js'

export type { RunEntry } from './types.js'
export type RatingEntry = Extract<JournalEntry, { kind: 'rating' }>
export type SetEntry = Extract<JournalEntry, { kind: 'set' }>
export type UndoEntry = Extract<JournalEntry, { kind: 'undo' }>

/** A rating counts as a success when it is at least this. */
export const SUCCESS_RATING = 4
/** How many ratings the YAML weight counts for, unless configured. */
export const DEFAULT_PRIOR_STRENGTH = 2
/** The weight of a (chain, type) nobody has rated or set. */
export const DEFAULT_WEIGHT = 0.5

/** The memory key as the journal uses it: seals run lines, hashes session names. */
export type JournalKey = Cipher & KeyedHasher

export interface JournalOptions {
  /** told about each line `read` skips (a torn last line after a crash, a damaged line) */
  onWarning?: (message: string) => void
  /** how long an append or forget waits for another process's lock (default 10 s) */
  lockTimeoutMs?: number
  /** the memory key, loaded when a run line is first sealed or opened */
  key?: () => Promise<JournalKey>
  /** embeds the query text of an old journal's run lines when they are sealed (without it the text is just dropped) */
  embed?: (texts: string[]) => Promise<StoredVector[]>
}

export interface ReadOptions {
  onWarning?: (message: string) => void
  /**
   * false: leave run lines out (ratings, sets and undos only; the key is not needed); a function:
   * only the run lines whose id it accepts (only those are opened)
   */
  runs?: boolean | ((runId: string) => boolean)
}

/** What to forget: the learner's share of a `forget` request (see the file's comment). */
export interface JournalForget {
  all?: boolean
  runIds?: ReadonlySet<string>
  /** the session's name */
  session?: string
  /** ms since the epoch: runs before it */
  before?: number
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0
const isOptionalText = (v: unknown): boolean => v === undefined || typeof v === 'string'

type Fields = Record<string, unknown>

/** a run line as written now: id and time in the clear, the rest sealed */
interface SealedRun {
  kind: 'run'
  runId: string
  at: number
  sealed: string
}

/** what is sealed in a run line */
interface RunPayload {
  chain: string
  type: string
  file?: string
  session?: string
  vector?: unknown
}

const isSealedRun = (e: Fields): e is Fields & SealedRun =>
  e.kind === 'run' && isNum(e.at) && isStr(e.runId) && isStr(e.sealed)

/** a run line of a journal written before sealing: `query` and `session` in the clear */
const isPlainRun = (e: Fields): boolean =>
  e.kind === 'run' &&
  e.sealed === undefined &&
  isNum(e.at) &&
  isStr(e.runId) &&
  isStr(e.chain) &&
  isStr(e.type) &&
  isOptionalText(e.query) &&
  isOptionalText(e.session) &&
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

const isUndo = (e: Fields): e is UndoEntry => e.kind === 'undo' && isNum(e.at) && isStr(e.runId) && isNum(e.ratingAt)

function plainRun(e: Fields): RunEntry {
  const legacy = {
    ...(typeof e.query === 'string' ? { query: e.query } : {}),
    ...(typeof e.session === 'string' && e.session ? { session: e.session } : {}),
  }
  return {
    kind: 'run',
    runId: e.runId as string,
    at: e.at as number,
    chain: e.chain as string,
    type: e.type as string,
    ...(typeof e.file === 'string' ? { file: e.file } : {}),
    legacy,
  }
}

/** A line as parsed: an entry, a run line still sealed, or nothing (unreadable). */
type LineEntry = JournalEntry | SealedRun

function parseLine(line: string): LineEntry | undefined {
  let v: unknown
  try {
    v = JSON.parse(line)
  } catch {
    return undefined
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined
  const e = v as Fields
  if (isSealedRun(e)) return { kind: 'run', runId: e.runId, at: e.at, sealed: e.sealed }
  if (isPlainRun(e)) return plainRun(e)
  return isRating(e) || isSet(e) || isUndo(e) ? e : undefined
}

const sealedOf = (e: LineEntry | undefined): e is SealedRun => e?.kind === 'run' && 'sealed' in e
const isLegacy = (e: LineEntry | undefined): e is RunEntry => e?.kind === 'run' && 'legacy' in e

interface Line {
  text: string
  entry: LineEntry | undefined
}

function parseText(text: string, file: string, onWarning?: (message: string) => void): Line[] {
  const raw = text.split('\n')
  const tail = raw.pop() // '' when the file ends with a newline (or is empty)
  const lines: Line[] = []
  const take = (line: string, n: number, torn: boolean) => {
    if (line.trim() === '') return
    const entry = parseLine(line)
    lines.push({ text: line, entry })
    if (!entry)
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
  return lines
}

export class Journal {
  readonly file: string
  readonly lockFile: string
  readonly #options: JournalOptions
  #key?: Promise<JournalKey>

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

  #loadKey(): Promise<JournalKey> {
    if (!this.#options.key)
      return Promise.reject(new MiradorError('INTERNAL', 'the learner journal was opened without the memory key'))
    this.#key ??= this.#options.key().catch((err: unknown) => {
      this.#key = undefined
      throw err
    })
    return this.#key
  }

  #seal(run: RunEntry, key: JournalKey): string {
    const payload: RunPayload = {
      chain: run.chain,
      type: run.type,
      ...(run.file ? { file: run.file } : {}),
      ...(run.session ? { session: run.session } : {}),
      ...(run.vector ? { vector: packVector(run.vector) } : {}),
    }
    return JSON.stringify({ kind: 'run', runId: run.runId, at: run.at, sealed: key.seal(JSON.stringify(payload)) })
  }

  /** The run a sealed line holds; undefined (and a warning) when it does not open. */
  #open(s: SealedRun, key: JournalKey, warn?: (m: string) => void): RunEntry | undefined {
    let p: RunPayload
    try {
      p = JSON.parse(key.open(s.sealed)) as RunPayload
    } catch (err) {
      warn?.(`${this.file}: skipped run ${s.runId}: ${MiradorError.from(err).message}`)
      return undefined
    }
    if (!p || !isStr(p.chain) || !isStr(p.type)) {
      warn?.(`${this.file}: skipped run ${s.runId}: it opens but is not a run record`)
      return undefined
    }
    const vector = unpackVector(p.vector)
    return {
      kind: 'run',
      runId: s.runId,
      at: s.at,
      chain: p.chain,
      type: p.type,
      ...(isStr(p.file) ? { file: p.file } : {}),
      ...(isStr(p.session) ? { session: p.session } : {}),
      ...(vector ? { vector } : {}),
    }
  }

  /** The lines as they are on disk; [] when there is no journal yet. */
  async #lines(onWarning?: (message: string) => void): Promise<Line[]> {
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
    return parseText(text, this.file, onWarning)
  }

  /** Lines with their run lines opened (those that do not open are left out, with a warning). */
  async #entries(lines: Line[], warn?: (m: string) => void): Promise<JournalEntry[]> {
    const key = lines.some((l) => sealedOf(l.entry)) ? await this.#loadKey() : undefined
    return lines.flatMap((l) => {
      const e = l.entry
      if (!e) return []
      if (sealedOf(e)) {
        const run = this.#open(e, key!, warn)
        return run ? [run] : []
      }
      return [e]
    })
  }

  /** Appends one entry as one line, fsynced before this returns (an old journal is sealed first). */
  async append(entry: JournalEntry): Promise<void> {
    if (!validEntry(entry)) throw new MiradorError('INTERNAL', `not a journal entry: ${JSON.stringify(entry)}`)
    if (entry.kind === 'run' && entry.legacy)
      throw new MiradorError('INTERNAL', 'the learner journal never writes query text or session names')
    const line = (entry.kind === 'run' ? this.#seal(entry, await this.#loadKey()) : JSON.stringify(entry)) + '\n'
    await ensurePrivateDir(path.dirname(this.file))
    await this.#lock(async () => {
      if (await this.#sealOld(line)) return
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

  /**
   * Under the lock: when the journal still holds run lines in the clear (written before sealing),
   * rewrites it sealed with `extra` at the end, and says so. Checked once per file and process:
   * nothing writes such lines any more.
   */
  async #sealOld(extra: string): Promise<boolean> {
    if (sealedFiles.has(this.file)) return false
    const lines = await this.#lines()
    if (!lines.some((l) => isLegacy(l.entry))) {
      sealedFiles.add(this.file)
      return false
    }
    const out = await this.#sealLines(lines, await this.#loadKey())
    await writeFileAtomic(this.file, out.map((l) => l + '\n').join('') + extra, 0o600)
    sealedFiles.add(this.file)
    return true
  }

  /** The lines with every clear run line sealed (text → embedding, name → keyed hash); unreadable ones dropped. */
  async #sealLines(lines: Line[], key: JournalKey): Promise<string[]> {
    const legacy = lines.flatMap((l) => (isLegacy(l.entry) && l.entry.legacy?.query ? [l.entry] : []))
    const vectors = new Map<RunEntry, StoredVector>()
    if (legacy.length && this.#options.embed) {
      try {
        const vs = await this.#options.embed(legacy.map((r) => r.legacy!.query!))
        legacy.forEach((r, i) => vs[i] && vectors.set(r, vs[i]))
      } catch (err) {
        this.#options.onWarning?.(
          `${this.file}: the old run lines were sealed without their embeddings (${MiradorError.from(err).message})`,
        )
      }
    }
    return lines.flatMap((l) => {
      const e = l.entry
      if (!e) return []
      if (!isLegacy(e)) return [l.text]
      const { legacy: old, ...run } = e
      const vector = vectors.get(e)
      return [
        this.#seal(
          {
            ...run,
            ...(old?.session ? { session: sessionHash(key, old.session) } : {}),
            ...(vector ? { vector } : {}),
          },
          key,
        ),
      ]
    })
  }

  /** Every entry, in the order written; [] when there is no journal yet. */
  async read(options: ReadOptions = {}): Promise<JournalEntry[]> {
    const warn = options.onWarning ?? this.#options.onWarning
    const lines = await this.#lines(warn)
    const runs = options.runs ?? true
    if (runs === true) return this.#entries(lines, warn)
    return this.#entries(
      lines.filter((l) => l.entry?.kind !== 'run' || (runs !== false && runs(l.entry.runId))),
      warn,
    )
  }

  /** The last run recorded (for `mirador rate --last`). */
  async lastRun(): Promise<RunEntry | undefined> {
    return this.#findRun(() => true)
  }

  /** The run recorded with this id (the last one, should an id ever repeat). */
  async findRun(runId: string): Promise<RunEntry | undefined> {
    return this.#findRun((id) => id === runId)
  }

  /** The last run line whose id matches that opens (only that line is opened). */
  async #findRun(match: (runId: string) => boolean): Promise<RunEntry | undefined> {
    const warn = this.#options.onWarning
    const lines = await this.#lines(warn)
    for (let i = lines.length - 1; i >= 0; i--) {
      const e = lines[i]!.entry
      if (e?.kind !== 'run' || !match(e.runId)) continue
      const run = sealedOf(e) ? this.#open(e, await this.#loadKey(), warn) : e
      if (run) return run
    }
    return undefined
  }

  /**
   * Forgets what the runs `req` matches hold of their query and session (see the file's comment);
   * returns how many runs lost something (`all`: how many run lines were removed).
   */
  async forget(req: JournalForget): Promise<number> {
    return this.#lock(async () => {
      const lines = await this.#lines()
      if (lines.length === 0) return 0
      let changed = 0
      let rewrite = lines.some((l) => !l.entry || isLegacy(l.entry))
      let out: string[]
      if (req.all) {
        out = lines.flatMap((l) => (l.entry && l.entry.kind !== 'run' ? [l.text] : []))
        changed = lines.filter((l) => l.entry?.kind === 'run').length
        rewrite ||= changed > 0
      } else {
        const key = lines.some((l) => l.entry?.kind === 'run') ? await this.#loadKey() : undefined
        const hash = req.session !== undefined && key ? sessionHash(key, req.session) : undefined
        const name = req.session?.normalize('NFC')
        const matches = (r: RunEntry) =>
          req.runIds?.has(r.runId) === true ||
          (req.before !== undefined && r.at < req.before) ||
          (hash !== undefined && (r.session === hash || r.legacy?.session?.normalize('NFC') === name))
        const kept: Line[] = []
        for (const l of lines) {
          const e = l.entry
          if (!e) continue
          if (e.kind !== 'run') {
            kept.push(l)
            continue
          }
          const run = sealedOf(e) ? this.#open(e, key!) : e
          if (!run) {
            rewrite = true // sealed with another key: it cannot be read, and may hold what is forgotten
            continue
          }
          if (!matches(run) || (!run.vector && !run.session && !run.legacy)) {
            kept.push(l)
            continue
          }
          const { vector: _v, session: _s, legacy: _l, ...rest } = run
          kept.push({ text: this.#seal(rest, key!), entry: rest })
          changed++
          rewrite = true
        }
        out = kept.some((l) => isLegacy(l.entry)) ? await this.#sealLines(kept, key!) : kept.map((l) => l.text)
      }
      if (!rewrite) return 0
      await writeFileAtomic(this.file, out.map((l) => l + '\n').join(''), 0o600)
      sealedFiles.add(this.file)
      return changed
    })
  }
}

/** journals known to hold no run line in the clear (this process checked, or sealed them) */
const sealedFiles = new Set<string>()

function validEntry(e: JournalEntry): boolean {
  const f: Fields = { ...e }
  if (e.kind === 'run') return isNum(e.at) && isStr(e.runId) && isStr(e.chain) && isStr(e.type)
  return isRating(f) || isSet(f) || isUndo(f)
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
  checkPriorStrength(priorStrength)
  const w = clamp01(state.weight)
  const n = Math.max(0, state.count)
  const m = n + priorStrength
  return { weight: clamp01((w * m + (success ? 1 : 0)) / (m + 1)), count: n + 1 }
}

/**
 * A run rated again: its earlier rating (`was`, a success or not) is replaced by the new one, so
 * the count stays: w' = (w·(n + n0) − x_old + x) / (n + n0).
 */
export function replaceRating(
  state: WeightState,
  was: boolean,
  success: boolean,
  priorStrength = DEFAULT_PRIOR_STRENGTH,
): WeightState {
  checkPriorStrength(priorStrength)
  const w = clamp01(state.weight)
  const n = Math.max(1, state.count)
  const m = n + priorStrength
  return { weight: clamp01((w * m - (was ? 1 : 0) + (success ? 1 : 0)) / m), count: n }
}

function checkPriorStrength(n0: number): void {
  if (!(Number.isFinite(n0) && n0 >= 0))
    throw new MiradorError('USAGE', `the prior strength must be a number ≥ 0, not ${n0}`)
}

const ratingKey = (runId: string, at: number) => `${runId}\u0000${at}`

/** The ratings that count: those no `undo` names. */
function countedRatings(entries: readonly JournalEntry[]): Set<RatingEntry> {
  const undone = new Set(entries.flatMap((e) => (e.kind === 'undo' ? [ratingKey(e.runId, e.ratingAt)] : [])))
  return new Set(entries.filter((e): e is RatingEntry => e.kind === 'rating' && !undone.has(ratingKey(e.runId, e.at))))
}

/** The run's rating that counts now (its last one no `undo` names), if it was rated. */
export function lastRating(entries: readonly JournalEntry[], runId: string): RatingEntry | undefined {
  const counted = countedRatings(entries)
  return [...counted].filter((e) => e.runId === runId).at(-1)
}

/**
 * Where a new rating stands among the journal's (it is in `entries`, appended just before): how
 * many runs of its chain and type were rated before it, counting its own run if it was rated
 * already, and that earlier rating's success, which it replaces.
 */
export function ratingContext(
  entries: readonly JournalEntry[],
  rating: Pick<RatingEntry, 'runId' | 'chain' | 'type' | 'at'>,
): { count: number; previous?: boolean } {
  const counted = countedRatings(entries)
  const runs = new Set<string>()
  let previous: boolean | undefined
  for (const e of entries) {
    if (e.kind !== 'rating' || !counted.has(e)) continue
    if (e.runId === rating.runId && e.at === rating.at) break
    if (e.chain !== rating.chain || e.type !== rating.type) continue
    runs.add(e.runId)
    if (e.runId === rating.runId) previous = e.rating >= SUCCESS_RATING
  }
  return { count: runs.size, ...(previous !== undefined ? { previous } : {}) }
}

export interface RebuildOptions {
  priorStrength?: number
}

/**
 * Replays the journal in order. Each (chain, type) starts at `{ weight: prior(chain, type) ?? 0.5,
 * count: 0 }` when first met; a `set` entry replaces the weight and keeps the count; each
 * `rating` no `undo` names applies `updateWeight` (success: rating ≥ 4), or `replaceRating` when
 * its run was rated before. Run entries do not change weights. Pairs never rated nor set are
 * absent from the result.
 */
export function rebuildWeights(
  entries: readonly JournalEntry[],
  prior?: (chain: string, type: string) => number | undefined,
  options: RebuildOptions = {},
): Weights {
  const n0 = options.priorStrength ?? DEFAULT_PRIOR_STRENGTH
  const counted = countedRatings(entries)
  const byChain = new Map<string, Map<string, WeightState>>()
  /** chain, type and run → the success of its rating that counts now */
  const rated = new Map<string, boolean>()
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
    } else if (e.kind === 'rating' && counted.has(e)) {
      const [types, s] = stateOf(e.chain, e.type)
      const success = e.rating >= SUCCESS_RATING
      const key = `${e.chain}\u0000${e.type}\u0000${e.runId}`
      const was = rated.get(key)
      types.set(e.type, was === undefined ? updateWeight(s, success, n0) : replaceRating(s, was, success, n0))
      rated.set(key, success)
    }
  }
  // fromEntries defines own properties, so a chain or type named like an Object.prototype key is safe
  return Object.fromEntries([...byChain].map(([chain, types]) => [chain, Object.fromEntries(types)]))
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : DEFAULT_WEIGHT
}

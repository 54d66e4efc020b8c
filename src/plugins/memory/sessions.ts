/**
 * Conversation sessions (`--session NAME`): one sealed file per session under
 * `$MIRADOR_HOME/sessions/`.
 *
 * On disk: `sessions/<hash>.session`, where `<hash>` is a keyed hash of the session name (HMAC under
 * a subkey of the memory key when the cipher offers `keyedHash`, as `MemoryCipher` does; otherwise
 * SHA-256), so neither the name nor a guess at it can be read or confirmed from the folder listing.
 * The file holds, sealed as one message, `{ v: 1, name, created, updated, turns, summary? }`.
 *
 * Concurrency: every change is read–modify–write of the whole file under a lock file
 * (`<hash>.lock`, created with O_EXCL, holding pid, host and a token; see ./file-lock.ts), and the
 * new content is written atomically (temp file, fsync, rename), so readers never take the lock and
 * never see half a file, and two processes appending at once both keep their turn. Chosen over
 * append-only records because the summary cache and `removeTurnsBefore` rewrite the file anyway,
 * and one sealed message per file leaks less (not even the number of turns) than one per turn.
 * A lock is stale when its process is gone (same host) or when it has not been refreshed for
 * `staleLockMs` (holders refresh it while they hold it); stale locks are broken under a second
 * O_EXCL guard so two waiters can never both break, or one break a fresh lock.
 *
 * Turns are redacted (./redact.ts) before they are stored, unless `redact: false` is given.
 */
import { rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { sessionHash } from '../../lib/session-hash.js'
import { MiradorError } from '../../engine/errors.js'
import { ensurePrivateDir, openFile, sealFile } from '../../lib/crypto.js'
import { withFileLock } from '../../lib/file-lock.js'
import { listFiles } from './files.js'
import { redact } from './redact.js'
import type { Cipher } from './types.js'

export { tryWithFileLock, withFileLock, type LockOptions } from '../../lib/file-lock.js'

export interface SessionTurn {
  runId: string
  query: string
  answer: string
  /** ms since the epoch */
  at: number
  /** the chain that answered */
  chain: string
}

/** the cached summary of the oldest `through` turns */
export interface SessionSummary {
  through: number
  /** runId of turn `through - 1`: the cache is valid only while that turn is still there */
  throughRunId: string
  text: string
  at: number
}

export interface Session {
  name: string
  created: number
  updated: number
  turns: SessionTurn[]
  summary?: SessionSummary
}

export interface SessionInfo {
  name: string
  turns: number
  created: number
  updated: number
}

export type Summarize = (texts: string[]) => Promise<string>

export interface SessionContext {
  /** summary of the turns before `recent` (absent when there are none) */
  summary?: string
  /** the last `verbatim` turns, oldest first */
  recent: SessionTurn[]
  /** how many turns the summary stands for */
  older: number
  /**
   * where the summary came from: the cache, a call to `summarize` now, or (no callback, or it
   * failed) a plain list of the earlier questions
   */
  summarized: 'none' | 'cached' | 'fresh' | 'fallback'
  /** why `summarize` failed, when it did */
  summaryError?: string
  /** summary and turns as one block of text, ready for a prompt ('' for a new session) */
  text: string
}

export interface SessionStoreOptions {
  /** redact query and answer before storing (default true) */
  redact?: boolean
  /** configured redaction patterns (config `memory.redact`) */
  redactPatterns?: (string | RegExp)[]
  /** how long to wait for another process's lock (default 10 s) */
  lockTimeoutMs?: number
  /** a lock not refreshed for this long is stale (default 10 s) */
  staleLockMs?: number
}

export const SESSION_NAME_MAX = 64
const NAME_RE = /^[\p{L}\p{N}][\p{L}\p{N}._-]*$/u

/** Checks a session name and returns it NFC-normalised; USAGE error saying what is allowed. */
export function validateSessionName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0)
    throw new MiradorError('USAGE', 'a session name is required: --session NAME')
  const n = name.normalize('NFC')
  if ([...n].length > SESSION_NAME_MAX) {
    throw new MiradorError(
      'USAGE',
      `session name "${n.slice(0, 20)}…" is ${[...n].length} characters long; the limit is ${SESSION_NAME_MAX}.`,
    )
  }
  if (!NAME_RE.test(n)) {
    throw new MiradorError(
      'USAGE',
      `session name ${JSON.stringify(n)} is not allowed: use letters, digits, ".", "_" and "-", ` +
        `starting with a letter or digit (no spaces or slashes), up to ${SESSION_NAME_MAX} characters.`,
    )
  }
  return n
}

function checkTurn(t: SessionTurn): void {
  const bad = (f: string) => new MiradorError('INTERNAL', `session turn: ${f} is missing or of the wrong type`)
  if (!t || typeof t !== 'object') throw bad('the turn')
  if (typeof t.runId !== 'string' || t.runId === '') throw bad('runId')
  if (typeof t.query !== 'string') throw bad('query')
  if (typeof t.answer !== 'string') throw bad('answer')
  if (typeof t.at !== 'number' || !Number.isFinite(t.at)) throw bad('at')
  if (typeof t.chain !== 'string') throw bad('chain')
}

const turnText = (t: SessionTurn) => `Q: ${t.query}\nA: ${t.answer}`

export class SessionStore {
  readonly dir: string
  private readonly opts: Required<Omit<SessionStoreOptions, 'redactPatterns'>> & { redactPatterns: (string | RegExp)[] }

  constructor(
    home: string,
    private readonly cipher: Cipher,
    options: SessionStoreOptions = {},
  ) {
    this.dir = path.join(home, 'sessions')
    this.opts = {
      redact: options.redact ?? true,
      redactPatterns: options.redactPatterns ?? [],
      lockTimeoutMs: options.lockTimeoutMs ?? 10_000,
      staleLockMs: options.staleLockMs ?? 10_000,
    }
  }

  /** the file a session lives in (whether or not it exists) */
  fileFor(name: string): string {
    // the learner matches sessions by the same hash (lib/session-hash.ts)
    const hash = sessionHash(this.cipher, validateSessionName(name))
    return path.join(this.dir, `${hash.slice(0, 32)}.session`)
  }

  /** Adds a turn (redacted) at the end of the session, creating it. Returns the session as stored. */
  async appendTurn(name: string, turn: SessionTurn): Promise<Session> {
    const n = validateSessionName(name)
    checkTurn(turn)
    const stored: SessionTurn = {
      runId: turn.runId,
      query: this.clean(turn.query),
      answer: this.clean(turn.answer),
      at: turn.at,
      chain: turn.chain,
    }
    return this.update(n, (s) => {
      const now = Date.now()
      const session: Session = s ?? { name: n, created: now, updated: now, turns: [] }
      session.turns.push(stored)
      session.updated = Math.max(now, stored.at)
      return session
    }) as Promise<Session>
  }

  /** The whole session, or undefined when there is none by that name. */
  async readSession(name: string): Promise<Session | undefined> {
    const n = validateSessionName(name)
    return this.load(this.fileFor(n), n)
  }

  /**
   * Every session, most recently updated first. A file that cannot be opened (another key,
   * tampering) throws MEMORY_CRYPTO, unless `onUnreadable` is given: then it is reported there and
   * skipped.
   */
  async listSessions(opts: { onUnreadable?: (file: string, err: unknown) => void } = {}): Promise<SessionInfo[]> {
    const out: SessionInfo[] = []
    for (const file of await this.files()) {
      let s: Session | undefined
      try {
        s = await this.load(file)
      } catch (err) {
        if (!opts.onUnreadable) throw err
        opts.onUnreadable(file, err)
        continue
      }
      if (s) out.push({ name: s.name, turns: s.turns.length, created: s.created, updated: s.updated })
    }
    return out.sort((a, b) => b.updated - a.updated || a.name.localeCompare(b.name))
  }

  /** Deletes a session; false when there was none. */
  async removeSession(name: string): Promise<boolean> {
    const n = validateSessionName(name)
    const file = this.fileFor(n)
    return this.locked(file, async () => {
      const existed = await stat(file).then(
        () => true,
        () => false,
      )
      await rm(file, { force: true })
      return existed
    })
  }

  /**
   * Removes the turns older than `date` from every session (or from `name` only). A session left
   * without turns is deleted; a cached summary that covered a removed turn is dropped. Returns the
   * number of turns removed.
   */
  async removeTurnsBefore(date: Date | number, name?: string): Promise<number> {
    const cutoff = typeof date === 'number' ? date : date.getTime()
    if (!Number.isFinite(cutoff)) throw new MiradorError('USAGE', 'removeTurnsBefore: the date is not valid')
    return this.removeTurns((t) => t.at < cutoff, name === undefined ? await this.files() : [this.fileFor(name)])
  }

  /** Deletes the turns of these runs from every session (forgetting a memory forgets its turn). */
  async removeRuns(runIds: string[]): Promise<number> {
    const ids = new Set(runIds)
    return this.removeTurns((t) => ids.has(t.runId), await this.files())
  }

  private async removeTurns(gone: (t: SessionTurn) => boolean, files: string[]): Promise<number> {
    let removed = 0
    for (const file of files) {
      await this.locked(file, async () => {
        const s = await this.load(file)
        if (!s) return
        const keep = s.turns.filter((t) => !gone(t))
        if (keep.length === s.turns.length) return
        removed += s.turns.length - keep.length
        if (keep.length === 0) {
          await rm(file, { force: true })
          return
        }
        s.turns = keep
        delete s.summary // it may hold what was just forgotten
        await this.save(file, s)
      })
    }
    return removed
  }

  /** Deletes every session; returns how many there were. */
  async removeAll(): Promise<number> {
    let n = 0
    for (const file of await this.files()) {
      await this.locked(file, () => rm(file, { force: true }))
      n++
    }
    return n
  }

  /**
   * What a run continuing session `name` should see: the last `verbatim` turns as they were, and
   * the turns before them summarised through `summarize` (given the texts to condense; with a
   * cached summary of a prefix, that summary first and then only the turns after it). The summary
   * is cached in the session file, so the next run with no new older turn calls nothing. Without
   * `summarize`, or when it fails, the older turns are reduced to a list of their questions (not
   * cached). `summarize` is called outside the lock; its result is stored only if the session
   * still starts with the turns it summarised.
   */
  async contextFor(
    name: string,
    opts: { verbatim?: number; summarize?: Summarize; maxSummaryChars?: number } = {},
  ): Promise<SessionContext> {
    const n = validateSessionName(name)
    const verbatim = Math.max(0, Math.floor(opts.verbatim ?? 3))
    const file = this.fileFor(n)
    const s = await this.load(file, n)
    if (!s || s.turns.length === 0) return { recent: [], older: 0, summarized: 'none', text: '' }
    const split = Math.max(0, s.turns.length - verbatim)
    const older = s.turns.slice(0, split)
    const recent = s.turns.slice(split)
    if (older.length === 0) return { recent, older: 0, summarized: 'none', text: render(undefined, recent) }

    const cache = s.summary
    const prefixValid = (sum: SessionSummary | undefined): sum is SessionSummary =>
      !!sum && sum.through >= 1 && sum.through <= older.length && older[sum.through - 1]?.runId === sum.throughRunId
    if (prefixValid(cache) && cache.through === older.length) {
      return {
        summary: cache.text,
        recent,
        older: older.length,
        summarized: 'cached',
        text: render(cache.text, recent),
      }
    }
    if (!opts.summarize) {
      const text = fallbackSummary(older)
      return { summary: text, recent, older: older.length, summarized: 'fallback', text: render(text, recent) }
    }
    const texts = prefixValid(cache)
      ? [`Summary of the conversation so far: ${cache.text}`, ...older.slice(cache.through).map(turnText)]
      : older.map(turnText)
    let summary: string
    try {
      summary = (await opts.summarize(texts)).trim()
      if (summary === '') throw new Error('the summary came back empty')
      if (opts.maxSummaryChars && summary.length > opts.maxSummaryChars)
        summary = summary.slice(0, opts.maxSummaryChars) + '…'
    } catch (err) {
      const text = fallbackSummary(older)
      return {
        summary: text,
        recent,
        older: older.length,
        summarized: 'fallback',
        summaryError: err instanceof Error ? err.message : String(err),
        text: render(text, recent),
      }
    }
    const last = older[older.length - 1]!
    const entry: SessionSummary = { through: older.length, throughRunId: last.runId, text: summary, at: Date.now() }
    await this.update(n, (cur) => {
      if (!cur || cur.turns[entry.through - 1]?.runId !== entry.throughRunId) return undefined // changed meanwhile
      if (
        cur.summary &&
        cur.summary.through > entry.through &&
        cur.turns[cur.summary.through - 1]?.runId === cur.summary.throughRunId
      )
        return undefined
      cur.summary = entry
      return cur
    })
    return { summary, recent, older: older.length, summarized: 'fresh', text: render(summary, recent) }
  }

  private clean(text: string): string {
    return this.opts.redact ? redact(text, this.opts.redactPatterns).text : text
  }

  private files(): Promise<string[]> {
    return listFiles(this.dir, (f) => f.endsWith('.session'))
  }

  private async load(file: string, expected?: string): Promise<Session | undefined> {
    const text = await openFile(this.cipher, file)
    if (text === undefined) return undefined
    let s: Session & { v?: number }
    try {
      s = JSON.parse(text) as Session & { v?: number }
    } catch (err) {
      throw new MiradorError(
        'MEMORY_CRYPTO',
        `${file}: the session decrypts but is not valid JSON; delete it (mirador session rm).`,
        { cause: err },
      )
    }
    if (!s || typeof s.name !== 'string' || !Array.isArray(s.turns)) {
      throw new MiradorError(
        'MEMORY_CRYPTO',
        `${file}: the session decrypts but has an unknown shape; delete it (mirador session rm).`,
      )
    }
    if (expected !== undefined && s.name !== expected) {
      throw new MiradorError(
        'MEMORY_CRYPTO',
        `${file} holds session "${s.name}", not "${expected}": was it copied or renamed by hand? ` +
          'Move it back or delete it.',
      )
    }
    const { v: _v, ...session } = s
    return session
  }

  private save(file: string, s: Session): Promise<void> {
    return sealFile(this.cipher, file, JSON.stringify({ v: 1, ...s }))
  }

  private locked<T>(file: string, fn: () => Promise<T>): Promise<T> {
    return withFileLock(file.replace(/\.session$/, '.lock'), fn, {
      timeoutMs: this.opts.lockTimeoutMs,
      staleMs: this.opts.staleLockMs,
      what: 'the session',
    })
  }

  /** read–modify–write under the lock; `change` returning undefined writes nothing */
  private async update(
    name: string,
    change: (s: Session | undefined) => Session | undefined,
  ): Promise<Session | undefined> {
    const file = this.fileFor(name)
    await ensurePrivateDir(this.dir)
    return this.locked(file, async () => {
      const next = change(await this.load(file, name))
      if (next) await this.save(file, next)
      return next
    })
  }
}

function render(summary: string | undefined, recent: SessionTurn[]): string {
  const parts: string[] = []
  if (summary) parts.push(`Earlier in this conversation (summary): ${summary}`)
  for (const t of recent) parts.push(turnText(t))
  return parts.join('\n\n')
}

function fallbackSummary(older: SessionTurn[]): string {
  const shown = older
    .slice(-10)
    .map((t) => (t.query.length > 120 ? t.query.slice(0, 119) + '…' : t.query).replace(/\s+/g, ' '))
  const more = older.length > shown.length ? ` (and ${older.length - shown.length} before)` : ''
  return `earlier questions${more}: ${shown.map((q) => `"${q}"`).join('; ')}`
}

/**
 * What the learner changed in a chain file: the newest backup that differs from the file now (the
 * one `rollback` would restore, see ./backups.ts) against the file's current text, as a unified
 * diff and as a list of weight changes.
 *
 * The line diff is a small LCS diff with no dependency: the common head and tail are cut off first
 * (a weight rewrite changes one or two lines, so what is left is tiny), the middle is diffed by
 * dynamic programming, and a middle too large for that (over 4 million cells — wholesale hand
 * edits of a big file) is shown as removed and re-added. Hunks carry 3 lines of context; a last
 * line without a line end is marked `\ No newline at end of file`, as diff(1) does. CR of CRLF line
 * ends is not printed.
 */
import { readFile } from 'node:fs/promises'
import { yaml } from '../../engine/config/yaml-lib.js'
import { LIMITS } from '../../engine/config/index.js'
import { backupDirFor, latestDifferentBackup, realChainPath } from './backups.js'

export interface WeightChange {
  type: string
  /** undefined: the type was added */
  before: number | undefined
  /** undefined: the type was removed */
  after: number | undefined
}

export interface WeightDiff {
  /** the chain file (real path) */
  file: string
  /** the backup compared against */
  backup: string
  /** when that backup was taken (ms since the epoch) */
  at: number
  /** unified diff, backup → current ('' when the texts are equal) */
  text: string
  /** weights that differ, in the current file's order, then removed ones */
  changes: WeightChange[]
}

const CONTEXT = 3
const MAX_CELLS = 4_000_000

/**
 * The difference between the latest backup of `file` and the file now; undefined when there is
 * no backup that differs from it.
 */
export async function weightDiff(file: string, home: string): Promise<WeightDiff | undefined> {
  const real = await realChainPath(file)
  const current = await readFile(real).catch(() => undefined)
  const found = await latestDifferentBackup(real, home, current)
  if (!found) return undefined
  const before = found.bytes.toString('utf8')
  const after = current?.toString('utf8') ?? ''
  return {
    file: real,
    backup: found.entry.file,
    at: found.entry.at,
    text: unifiedDiff(before, after, `${real} (backup ${new Date(found.entry.at).toISOString()})`, real),
    changes: weightChanges(before, after),
  }
}

/** Where the backups of `file` are kept (for messages). */
export async function backupFolder(file: string, home: string): Promise<string> {
  return backupDirFor(await realChainPath(file), home)
}

/** The `weights:` map of a chain text, read leniently (a broken file has no weights). */
export function readWeights(text: string): Map<string, number> {
  const out = new Map<string, number>()
  try {
    const doc = yaml().parseDocument(text.replace(/^\uFEFF/, ''), {
      version: '1.2',
      schema: 'core',
      merge: false,
      stringKeys: true,
      logLevel: 'silent',
    })
    if (doc.errors.length > 0) return out
    const value = doc.toJS({ maxAliasCount: LIMITS.maxAliasExpansion }) as { weights?: unknown } | null
    const w = value?.weights
    if (!w || typeof w !== 'object' || Array.isArray(w)) return out
    for (const [k, v] of Object.entries(w as Record<string, unknown>)) if (typeof v === 'number') out.set(k, v)
  } catch {
    // unreadable: no weights
  }
  return out
}

export function weightChanges(beforeText: string, afterText: string): WeightChange[] {
  const a = readWeights(beforeText)
  const b = readWeights(afterText)
  const out: WeightChange[] = []
  for (const [type, after] of b) {
    const before = a.get(type)
    if (before !== after) out.push({ type, before, after })
  }
  for (const [type, before] of a) if (!b.has(type)) out.push({ type, before, after: undefined })
  return out
}

/** Splits text into lines, each with its line end (the last may have none). */
function splitLines(text: string): string[] {
  if (text === '') return []
  return text.split(/(?<=\n)/)
}

type Op = { kind: ' ' | '-' | '+'; line: string; a: number; b: number }

/** The edit script turning `a` into `b`: kept, removed and added lines, with 0-based indexes. */
export function lineDiff(a: string[], b: string[]): Op[] {
  let head = 0
  while (head < a.length && head < b.length && a[head] === b[head]) head++
  let tail = 0
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++
  const am = a.slice(head, a.length - tail)
  const bm = b.slice(head, b.length - tail)
  const ops: Op[] = []
  for (let i = 0; i < head; i++) ops.push({ kind: ' ', line: a[i]!, a: i, b: i })

  const n = am.length
  const m = bm.length
  if ((n + 1) * (m + 1) > MAX_CELLS) {
    for (let i = 0; i < n; i++) ops.push({ kind: '-', line: am[i]!, a: head + i, b: head })
    for (let j = 0; j < m; j++) ops.push({ kind: '+', line: bm[j]!, a: head + n, b: head + j })
  } else {
    // lcs[i][j]: length of the LCS of am[i..] and bm[j..]
    const w = m + 1
    const lcs = new Uint32Array((n + 1) * w)
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] =
          am[i] === bm[j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!)
      }
    }
    let i = 0
    let j = 0
    while (i < n || j < m) {
      if (i < n && j < m && am[i] === bm[j]) {
        ops.push({ kind: ' ', line: am[i]!, a: head + i, b: head + j })
        i++
        j++
      } else if (j < m && (i === n || lcs[i * w + j + 1]! >= lcs[(i + 1) * w + j]!)) {
        ops.push({ kind: '+', line: bm[j]!, a: head + i, b: head + j })
        j++
      } else {
        ops.push({ kind: '-', line: am[i]!, a: head + i, b: head + j })
        i++
      }
    }
    // removals before additions inside each change, as diff(1) prints them
    for (let s = head; s < ops.length; ) {
      if (ops[s]!.kind === ' ') {
        s++
        continue
      }
      let e = s
      while (e < ops.length && ops[e]!.kind !== ' ') e++
      const run = ops.slice(s, e)
      const a0 = Math.min(...run.map((o) => o.a))
      const b0 = Math.min(...run.map((o) => o.b))
      const removed = run.filter((o) => o.kind === '-').map((o) => ({ ...o, b: b0 }))
      const added = run.filter((o) => o.kind === '+').map((o) => ({ ...o, a: a0 + removed.length }))
      ops.splice(s, e - s, ...removed, ...added)
      s = e
    }
  }
  for (let k = 0; k < tail; k++)
    ops.push({ kind: ' ', line: a[a.length - tail + k]!, a: a.length - tail + k, b: b.length - tail + k })
  return ops
}

function show(op: Op): string {
  const body = op.line.replace(/\r?\n$/, '')
  const out = `${op.kind}${body}\n`
  return op.line.endsWith('\n') ? out : `${out}\\ No newline at end of file\n`
}

/** A unified diff of two texts ('' when equal). */
export function unifiedDiff(before: string, after: string, fromLabel = 'a', toLabel = 'b'): string {
  const a = splitLines(before)
  const b = splitLines(after)
  const ops = lineDiff(a, b)
  const changed = ops.map((o, i) => (o.kind === ' ' ? -1 : i)).filter((i) => i >= 0)
  if (changed.length === 0) return ''
  // group changes whose context overlaps into hunks
  const hunks: Array<[number, number]> = []
  for (const i of changed) {
    const s = Math.max(0, i - CONTEXT)
    const e = Math.min(ops.length, i + CONTEXT + 1)
    const last = hunks.at(-1)
    if (last && s <= last[1]) last[1] = Math.max(last[1], e)
    else hunks.push([s, e])
  }
  let out = `--- ${fromLabel}\n+++ ${toLabel}\n`
  for (const [s, e] of hunks) {
    const part = ops.slice(s, e)
    const aCount = part.filter((o) => o.kind !== '+').length
    const bCount = part.filter((o) => o.kind !== '-').length
    const aStart = aCount === 0 ? part[0]!.a : part[0]!.a + 1
    const bStart = bCount === 0 ? part[0]!.b : part[0]!.b + 1
    out += `@@ -${aStart},${aCount} +${bStart},${bCount} @@\n`
    for (const op of part) out += show(op)
  }
  return out
}

/**
 * `memory search --batch`: JSONL on stdin, one `{query, ref?, session?, limit?}` a line, one JSON
 * line out per query, in order: `{ref, results: [{id, ref, score}]}`, best first. `ref` is the
 * caller's own id for the query, echoed back (null when absent); a result's `ref` is the memory's
 * own (`memory import`), null for memories made by runs. A bad line gets
 * `{ref, line, error: {code, message}}` in its place and the batch goes on; blank lines are not
 * queries and get nothing.
 */
import { createInterface } from 'node:readline'
import { MiradorError } from '../../engine/errors.js'
import { provenance, type Ranked } from '../../plugins/memory/recall.js'
import { validateSessionName } from '../../plugins/memory/sessions.js'

export const MAX_LIMIT = 50
const MAX_QUERY = 10_000
const KEYS = ['query', 'ref', 'session', 'limit']

export interface BatchQuery {
  query: string
  ref: string | number | null
  session?: string
  limit?: number
}

/** One line of the batch, checked; a MiradorError (USAGE) says what is wrong with it. */
export function parseBatchLine(line: string): BatchQuery {
  let v: unknown
  try {
    v = JSON.parse(line)
  } catch {
    throw new MiradorError('USAGE', 'not JSON: each line must be one object like {"query": "…"}')
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new MiradorError('USAGE', 'not an object: each line must be one object like {"query": "…"}')
  const o = v as Record<string, unknown>
  const unknown = Object.keys(o).filter((k) => !KEYS.includes(k))
  if (unknown.length)
    throw new MiradorError(
      'USAGE',
      `unknown key ${unknown.map((k) => JSON.stringify(k)).join(', ')}: use ${KEYS.join(', ')}`,
    )
  if (typeof o.query !== 'string' || o.query.trim() === '' || o.query.length > MAX_QUERY)
    throw new MiradorError('USAGE', `"query" must be a string of 1 to ${MAX_QUERY} characters`)
  if (o.ref !== undefined && typeof o.ref !== 'string' && !(typeof o.ref === 'number' && isFinite(o.ref)))
    throw new MiradorError('USAGE', '"ref" must be a string or a number')
  if (
    o.limit !== undefined &&
    !(Number.isInteger(o.limit) && (o.limit as number) >= 1 && (o.limit as number) <= MAX_LIMIT)
  )
    throw new MiradorError('USAGE', `"limit" must be a whole number from 1 to ${MAX_LIMIT}`)
  return {
    query: o.query,
    ref: (o.ref as string | number | undefined) ?? null,
    ...(o.session !== undefined ? { session: validateSessionName(o.session) } : {}),
    ...(o.limit !== undefined ? { limit: o.limit as number } : {}),
  }
}

/** The best-effort ref of a line that did not parse, so its error can still be matched to it. */
function refOf(line: string): string | number | null {
  try {
    const ref = (JSON.parse(line) as { ref?: unknown } | null)?.ref
    return typeof ref === 'string' || typeof ref === 'number' ? ref : null
  } catch {
    return null
  }
}

export function resultLine(ref: string | number | null, found: Ranked[]): string {
  const results = found.map((m) => ({ id: m.id, ref: m.meta.ref ?? null, score: provenance(m).score }))
  return JSON.stringify({ ref, results })
}

/**
 * Runs every line of `input` through `search`, writing one line per query to `write`. A failure
 * of the store ends the batch (it would fail every query after it); a bad line does not.
 * Returns how many lines were bad.
 */
export async function runBatch(
  input: NodeJS.ReadableStream,
  search: (q: BatchQuery) => Promise<Ranked[]>,
  write: (line: string) => void,
): Promise<{ queries: number; bad: number }> {
  let n = 0
  let queries = 0
  let bad = 0
  for await (const raw of createInterface({ input, crlfDelay: Infinity })) {
    n++
    const line = n === 1 ? raw.replace(/^\uFEFF/, '') : raw
    if (line.trim() === '') continue
    let q: BatchQuery
    try {
      q = parseBatchLine(line)
    } catch (err) {
      bad++
      const e = MiradorError.from(err, 'USAGE')
      write(JSON.stringify({ ref: refOf(line), line: n, error: { code: e.code, message: e.message } }))
      continue
    }
    queries++
    write(resultLine(q.ref, await search(q)))
  }
  return { queries, bad }
}

/**
 * Hook arguments as data. In process, hooks hand plugins live objects (a context with emit, log and
 * an AbortSignal, results as a Map, errors as MiradorError); a sandboxed plugin gets a copy of
 * their data, and the host rebuilds the functions around it as calls back to Mirador.
 */
import type { ContextData, ErrorData } from './protocol.js'

const MAX_DEPTH = 32

/**
 * A structured-clone-safe copy: functions, symbols and class behaviour dropped, errors as
 * {name, code, message}, Maps and typed arrays kept. Cycles and very deep values are cut.
 */
export function toData(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') {
    return typeof value === 'function' || typeof value === 'symbol' ? undefined : value
  }
  if (depth > MAX_DEPTH || seen.has(value)) return undefined
  if (ArrayBuffer.isView(value) || value instanceof Date || value instanceof RegExp) return value
  seen.add(value)
  try {
    if (value instanceof Error) return errorData(value)
    if (value instanceof Map) {
      return new Map([...value].map(([k, v]) => [toData(k, depth + 1, seen), toData(v, depth + 1, seen)]))
    }
    if (value instanceof Set) return [...value].map((v) => toData(v, depth + 1, seen))
    if (Array.isArray(value)) return value.map((v) => toData(v, depth + 1, seen))
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      const d = toData(v, depth + 1, seen)
      if (d !== undefined) out[k] = d
    }
    return out
  } finally {
    seen.delete(value)
  }
}

export function errorData(err: unknown): ErrorData & { name?: string } {
  if (err instanceof Error) {
    const { code, details } = err as { code?: unknown; details?: unknown }
    const strings = Object.entries(details ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string')
    return {
      name: err.name,
      message: err.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(strings.length ? { details: Object.fromEntries(strings) } : {}),
    }
  }
  return { message: String(err) }
}

/** The fields of a run's or a stage's context that cross to a sandboxed plugin. */
export function contextData(ctx: object): ContextData {
  const c = ctx as Partial<Record<keyof ContextData, unknown>>
  const data: ContextData = {
    runId: String(c.runId),
    chain: String(c.chain),
    query: String(c.query),
    memory: c.memory === true,
  }
  if (typeof c.session === 'string') data.session = c.session
  if (typeof c.stage === 'string') data.stage = c.stage
  if (c.spec !== undefined) data.spec = toData(c.spec)
  if (c.summary !== undefined) data.summary = toData(c.summary) as Record<string, unknown>
  if (c.results instanceof Map) data.results = toData(c.results) as Map<string, unknown>
  return data
}

/** True for a hook argument that is a RunContext or StageContext (it carries emit). */
export function isContext(value: unknown): value is { runId: string; emit: (e: object) => void } {
  return typeof (value as { emit?: unknown } | null)?.emit === 'function'
}

/** Fields of a context a plugin may not change; a sandboxed tap that does is reported, and nothing changes. */
export const READ_ONLY_CONTEXT = ['runId', 'chain', 'query', 'session', 'memory', 'stage', 'spec', 'results'] as const

/** The read-only fields of a context copy that differ from the original data (compared as JSON). */
export function tamperedFields(before: ContextData, after: Record<string, unknown>): string[] {
  const same = (a: unknown, b: unknown) => JSON.stringify(toJsonable(a)) === JSON.stringify(toJsonable(b))
  return READ_ONLY_CONTEXT.filter((k) => !same(before[k], after[k]))
}

function toJsonable(v: unknown): unknown {
  return v instanceof Map ? [...v] : v
}

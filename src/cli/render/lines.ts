/** Lines the plain and live renderers print alike. Each escapes the event text it draws (`safeText`). */
import type {
  DoneEvent,
  ErrorEvent,
  LogEvent,
  ModelPullEvent,
  PluginEvent,
  RunEvent,
  ToolCallEvent,
  ToolResultEvent,
} from '../../engine/events.js'
import { CORE_EVENT_TYPES } from '../../engine/events.js'
import { bytes, pct, safeText, seconds, type Paint } from './format.js'
import { community, type CandidatePrior } from '../../plugins/learner/bandit.js'

/** Every event type the renderers know, drawn or deliberately left out; others are shown only with --debug. */
const KNOWN = new Set<string>([
  ...CORE_EVENT_TYPES,
  'status',
  'model-load',
  'model-evict',
  'model-wait',
  'model-fallback',
  'route',
  'memory',
  'docs',
])

export function isKnownEvent(type: string): boolean {
  return KNOWN.has(type)
}

/** `--debug`: an event of a type the renderers do not know, as its type and its fields in compact JSON. */
export function debugLine(e: RunEvent): string {
  const fields = Object.fromEntries(Object.entries(e).filter(([k]) => k !== 'type' && k !== 'runId'))
  return safeText(`${e.type} ${JSON.stringify(fields)}`)
}

/** A plugin's `log` message, with who says it: `MemoryPlugin [quick]: …`. */
export function logLine(e: LogEvent): string {
  const who = [e.plugin, e.stage ? `[${e.stage}]` : ''].filter(Boolean).join(' ')
  return safeText(`${who ? `${who}: ` : ''}${e.level === 'warn' ? 'warning: ' : ''}${e.message}`)
}

/** Text with each line labelled, for plain output: `[quick prompt] …`. */
export function labelled(label: string, text: string): string {
  return text
    .split('\n')
    .map((l) => `[${label}] ${safeText(l)}\n`)
    .join('')
}

/** The last line of a run: which stage answered, how sure, models, tokens, time. */
export function summaryLine(e: DoneEvent, p: Paint): string {
  const head = e.ok
    ? p.green(`✓ answer from ${safeText(String(e.stage))} (confidence ${pct(e.confidence)})`)
    : p.red('✗ no stage produced an answer')
  const models = e.models.length ? `models ${safeText(e.models.join(', '))}` : 'no model ran'
  return `${head} ${p.dim(`· ${models} · ${e.tokens} tokens · ${seconds(e.ms)}`)}`
}

/**
 * Says whether an error event is new to the run. One cause often fails every stage alike (Ollama
 * down: each stage reports the same RUNTIME_UNREACHABLE); the terminal shows it once. `--json`
 * keeps every event.
 */
export function firstOfEachError(): (e: { code: unknown; message: unknown }) => boolean {
  const seen = new Set<string>()
  return (e) => {
    const key = `${String(e.code)} ${String(e.message)}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  }
}

export function errorLine(e: ErrorEvent, p: Paint): string {
  const where = e.stage ? `[${e.stage}] ` : e.plugin ? `[plugin ${e.plugin}] ` : ''
  return p.red(safeText(`✗ ${where}${e.code}: `)) + safeText(e.message)
}

/**
 * A model being made ready: a bar when the runtime reports byte counts, else its status as the
 * runtime words it (Ollama says "pulling manifest", llama.cpp "loading FILE": a local file is
 * loaded, never pulled). A bar is a download ("pulling MODEL") unless the status says it is other
 * work on bytes: hashing an adapter, verifying a pinned file's sha256.
 */
export function pullLine(e: ModelPullEvent, width = 24): string {
  const model = safeText(String(e.model))
  if (e.total && e.completed !== undefined) {
    const frac = Math.min(1, e.completed / e.total)
    const filled = Math.round(frac * width)
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`
    const doing = /^(hashing|verifying) /.test(String(e.status))
      ? `${model}: ${safeText(e.status)}`
      : `pulling ${model}`
    return `${doing} ${bar} ${Math.round(frac * 100)}% of ${bytes(e.total)}`
  }
  return `${model}: ${safeText(String(e.status))}`
}

/**
 * What a built-in plugin's event warns of, said as it is, or undefined for one that only informs:
 * memory or documents unavailable, a query longer than a memory keeps, records that do not open,
 * memory matching words instead of meaning. `--no-stream` shows these too (on stderr).
 */
export function pluginWarning(ev: RunEvent): string | undefined {
  const e = ev as PluginEvent
  if (e.type === 'memory' && (e.unavailable || e.clipped || e.unreadable || e.fallback)) return String(e.message)
  if (e.type === 'docs' && e.unavailable) return String(e.message)
  if (e.type === 'model-fallback') return String(e.message)
  return undefined
}

/**
 * A line for the events the built-in plugins add (model loads and evictions), or undefined for
 * an event the renderers do not draw.
 */
export function pluginEventLine(ev: RunEvent): string | undefined {
  const e = ev as PluginEvent
  switch (e.type) {
    case 'model-load': {
      const evicted = Array.isArray(e.evicted) && e.evicted.length ? ` (evicted ${e.evicted.join(', ')})` : ''
      return `loaded ${String(e.model)} in ${seconds(Number(e.ms))}${evicted}`
    }
    case 'model-evict':
      return `evicted ${String(e.model)}: ${String(e.reason)}${e.failed ? ` (failed: ${String(e.failed)})` : ''}`
    case 'model-wait':
      return `${String(e.model)} waits: ${String(e.reason)}`
    case 'model-fallback':
      return String(e.message)
    case 'route': {
      const head = `chose ${String(e.chain)} for a "${String(e.queryType)}" question`
      if (!e.explain) return head
      const rows = Array.isArray(e.candidates)
        ? (e.candidates as { chain: string; weight: number; count: number; sample?: number; prior?: CandidatePrior }[])
        : []
      const skipped = Array.isArray(e.skipped) ? (e.skipped as { chain: string; reason: string }[]) : []
      return [
        `${head}: ${String(e.reason)}`,
        ...rows.map((c) => {
          const drew = c.sample !== undefined ? `  drew ${c.sample.toFixed(3)}` : ''
          const prior = c.prior ? `  ${community(c.prior)}` : ''
          return `    ${c.chain.padEnd(18)} weight ${c.weight.toFixed(2)}  ${c.count} rating(s)${drew}${prior}`
        }),
        ...skipped.map((c) => `    ${c.chain.padEnd(18)} not a candidate: ${safeText(c.reason)}`),
      ].join('\n')
    }
    case 'memory': {
      const warning = pluginWarning(e)
      if (warning !== undefined) return warning
      const scores = Array.isArray(e.scores) ? (e.scores as { id: string; score: number }[]) : []
      const what = scores.length
        ? `recalled ${scores.map((s) => `${s.id} (${s.score.toFixed(2)})`).join(', ')}`
        : 'recalled nothing'
      const session = e.session ? ` · session ${String(e.session)}` : ''
      const text = typeof e.text === 'string' && e.text ? indented(e.text) : ''
      return `${String(e.stage)}: ${what}${session}${text}`
    }
    case 'docs': {
      const warning = pluginWarning(e)
      if (warning !== undefined) return warning
      const cited = Array.isArray(e.cited) ? (e.cited as string[]) : []
      const text = typeof e.text === 'string' && e.text ? indented(e.text) : ''
      return `${String(e.stage)}: cited ${cited.join(', ')}${text}`
    }
    default:
      return undefined
  }
}

/** text shown under its event's line, indented */
function indented(text: string): string {
  return `\n${text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')}`
}

function preview(value: unknown, max = 160): string {
  const text = JSON.stringify(value) ?? String(value)
  return safeText(text.length > max ? `${text.slice(0, max - 1)}…` : text)
}

/** A tool call and its result, one line each: tool output is untrusted, so it is escaped and cut. */
export function toolLine(e: ToolCallEvent | ToolResultEvent): string {
  if (e.type === 'tool-call') return `→ ${e.name} ${preview(e.arguments)}`
  return e.ok
    ? `← ${e.name} ${seconds(e.ms)}: ${preview(e.value)}`
    : `← ${e.name} failed (${e.code}) ${seconds(e.ms)}: ${safeText(String(e.error))}`
}

/** Lines the plain and live renderers print alike. */
import type { DoneEvent, ErrorEvent, ModelPullEvent, PluginEvent, RunEvent } from '../../engine/events.js'
import { bytes, pct, seconds, type Paint } from './format.js'

/** The last line of a run: which stage answered, how sure, models, tokens, time. */
export function summaryLine(e: DoneEvent, p: Paint): string {
  const head = e.ok ? p.green(`✓ answer from ${e.stage} (confidence ${pct(e.confidence)})`) : p.red('✗ no stage produced an answer')
  const models = e.models.length ? `models ${e.models.join(', ')}` : 'no model ran'
  return `${head} ${p.dim(`· ${models} · ${e.tokens} tokens · ${seconds(e.ms)}`)}`
}

export function errorLine(e: ErrorEvent, p: Paint): string {
  const where = e.stage ? `[${e.stage}] ` : e.plugin ? `[plugin ${e.plugin}] ` : ''
  return p.red(`✗ ${where}${e.code}: `) + e.message
}

export function pullLine(e: ModelPullEvent, width = 24): string {
  if (e.total && e.completed !== undefined) {
    const frac = Math.min(1, e.completed / e.total)
    const filled = Math.round(frac * width)
    return `pulling ${e.model} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(frac * 100)}% of ${bytes(e.total)}`
  }
  return `pulling ${e.model}: ${e.status}`
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
    case 'memory': {
      if (e.unavailable) return String(e.message)
      const scores = Array.isArray(e.scores) ? (e.scores as { id: string; score: number }[]) : []
      const what = scores.length ? `recalled ${scores.map((s) => `${s.id} (${s.score.toFixed(2)})`).join(', ')}` : 'recalled nothing'
      const session = e.session ? ` · session ${String(e.session)}` : ''
      const text = typeof e.text === 'string' && e.text ? `\n${e.text.split('\n').map((l) => `    ${l}`).join('\n')}` : ''
      return `${String(e.stage)}: ${what}${session}${text}`
    }
    default:
      return undefined
  }
}

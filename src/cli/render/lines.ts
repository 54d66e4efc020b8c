/** Lines the plain and live renderers print alike. */
import type { DoneEvent, ErrorEvent, ModelPullEvent } from '../../engine/events.js'
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

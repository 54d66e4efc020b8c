/**
 * The terminal renderer (stdout is a TTY). Stages that are running share a live region at the
 * bottom of the screen, each with its label, model, a spinner until its first token, its
 * confidence so far and the tail of its text; when a stage ends, its whole text is printed above
 * the region for good. Redraws are throttled so a fast model does not flood the terminal.
 */
import type { CoreEvent, RunEvent } from '../../engine/events.js'
import { paint, pct, safeText, seconds } from './format.js'
import { errorLine, firstOfEachError, pluginEventLine, pullLine, summaryLine, toolLine } from './lines.js'
import type { Out, Renderer } from './renderer.js'

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
const FRAME_MS = 80

interface LiveStage {
  model: string
  text: string
  tokens: number
  /** sum of log token probabilities: the live confidence is their geometric mean, as at stage end */
  logSum: number
}

export interface LiveOptions {
  columns?: number
  color?: boolean
}

/** Wraps text to `width` columns (by characters; good enough for a live preview). */
function wrap(text: string, width: number): string[] {
  const out: string[] = []
  for (const line of text.split('\n')) {
    if (line.length === 0) out.push('')
    for (let i = 0; i < line.length; i += width) out.push(line.slice(i, i + width))
  }
  return out
}

export function liveRenderer(out: Out, err: Out, options: LiveOptions = {}): Renderer {
  const p = paint(options.color ?? !process.env.NO_COLOR)
  const columns = () => Math.max(20, (options.columns ?? (process.stdout.columns || 80)) - 2)
  const running = new Map<string, LiveStage>()
  let waiting: string | undefined = 'starting'
  let pull: string | undefined
  let drawn = 0
  let frame = 0
  let timer: NodeJS.Timeout | undefined
  let dirty = false
  // a run that failed before its plan has only its error to say: no summary line under it
  let planned = false
  const isNew = firstOfEachError()

  const clear = () => {
    if (drawn > 0) out.write(`\x1b[${drawn}A\r\x1b[0J`)
    drawn = 0
  }
  const region = (): string[] => {
    const spin = p.cyan(FRAMES[frame % FRAMES.length]!)
    const lines: string[] = []
    if (pull) lines.push(`${spin} ${pull}`)
    if (running.size === 0 && waiting) lines.push(`${spin} ${p.dim(waiting)}`)
    const tail = running.size > 1 ? 3 : 6
    for (const [name, s] of running) {
      const conf = s.tokens ? ` · confidence ${pct(Math.exp(s.logSum / s.tokens))}` : ''
      lines.push(
        `${s.tokens === 0 ? spin : p.cyan('▸')} ${p.bold(name)} ${p.dim(`${s.model}${s.tokens ? ` · ${s.tokens} tokens${conf}` : ' · waiting for the first token'}`)}`,
      )
      if (s.text) for (const l of wrap(safeText(s.text), columns() - 2).slice(-tail)) lines.push(`  ${l}`)
    }
    return lines
  }
  const draw = () => {
    dirty = false
    clear()
    const lines = region()
    if (lines.length) out.write(lines.join('\n') + '\n')
    drawn = lines.length
  }
  /** prints lines above the live region, for good */
  const commit = (text: string) => {
    clear()
    out.write(text.endsWith('\n') ? text : text + '\n')
    draw()
  }
  const tick = () => {
    frame++
    draw()
  }
  timer = setInterval(tick, FRAME_MS)
  timer.unref()

  return {
    event(ev: RunEvent) {
      const e = ev as CoreEvent
      switch (e.type) {
        case 'ack':
          waiting = `${e.chain}: getting ready…`
          commit(p.dim(`▸ ${e.chain} · ${e.runId}`))
          break
        case 'plan':
          planned = true
          waiting = 'loading models…'
          if (e.text) commit(safeText(e.text))
          break
        case 'stage-start':
          running.set(e.stage, { model: e.model, text: '', tokens: 0, logSum: 0 })
          dirty = true
          break
        case 'model-pull':
          pull = pullLine(e)
          dirty = true
          break
        case 'token': {
          pull = undefined
          const s = running.get(e.stage)
          if (s) {
            s.text += e.text
            s.tokens++
            s.logSum += Math.log(Math.max(e.confidence, 1e-6))
          }
          dirty = true
          break
        }
        case 'stage-end': {
          const s = running.get(e.stage)
          running.delete(e.stage)
          const head = `${p.green('■')} ${p.bold(e.stage)} ${p.dim(`${e.model} · ${e.tokens} tokens · confidence ${pct(e.confidence)}${e.confidenceSource === 'declared' ? ' (declared)' : ''} · ${seconds(e.ms)}`)}`
          commit(`${head}\n${safeText((s?.text ?? '').trim())}\n`)
          break
        }
        case 'stage-skip':
          running.delete(e.stage)
          commit(`${p.yellow('□')} ${p.bold(e.stage)} ${p.dim(`skipped: ${e.reason}`)}`)
          break
        case 'error':
          if (e.stage) running.delete(e.stage)
          if (!isNew(e)) {
            dirty = true
            break
          }
          clear()
          err.write(errorLine(e, p) + '\n')
          draw()
          break
        case 'tool-call':
        case 'tool-result':
          commit(p.dim(`  ${e.stage} ${toolLine(e)}`))
          break
        case 'done':
          waiting = undefined
          running.clear()
          if (planned || e.ok) commit(summaryLine(e, p))
          else draw()
          break
        default: {
          // a plugin saying what it is doing while nothing streams yet (starting a server, …)
          const message = (ev as { message?: unknown }).message
          if (ev.type === 'status' && typeof message === 'string') {
            waiting = safeText(message)
            dirty = true
            break
          }
          const line = pluginEventLine(ev)
          if (line) {
            pull = undefined
            commit(p.dim(`  ${safeText(line)}`))
          }
        }
      }
      // tokens wait for the next frame, so a fast model costs one redraw per frame, not per token
      if (dirty && e.type !== 'token') draw()
    },
    close() {
      if (timer) clearInterval(timer)
      timer = undefined
      waiting = undefined
      running.clear()
      pull = undefined
      clear()
    },
  }
}

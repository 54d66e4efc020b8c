/**
 * The terminal renderer (stdout is a TTY). Stages that are running share a live region at the
 * bottom of the screen, each with its label, model, a spinner until its first token, its
 * confidence so far and the tail of its text; when a stage ends, its whole text is printed above
 * the region for good. Redraws are throttled so a fast model does not flood the terminal.
 */
import type { CoreEvent, RunEvent } from '../../engine/events.js'
import { paint, pct, safeText, seconds } from './format.js'
import { errorLine, pluginEventLine, pullLine, summaryLine, toolLine } from './lines.js'
import type { Out, Renderer } from './renderer.js'

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
const FRAME_MS = 80

interface LiveStage {
  model: string
  text: string
  /** the text made safe to show (safeText), kept as it grows */
  shown: string
  tokens: number
  /** sum of log token probabilities: the live confidence is their geometric mean, as at stage end */
  logSum: number
}

export interface LiveOptions {
  columns?: number
  color?: boolean
}

/**
 * The last `count` rows of `text` wrapped to `width` columns (by characters; good enough for a
 * live preview). It reads the text from its end, so a frame costs the same however long the
 * stage's text has grown.
 */
export function tailRows(text: string, width: number, count: number): string[] {
  const rows: string[] = []
  let end = text.length
  for (;;) {
    const start = end === 0 ? 0 : text.lastIndexOf('\n', end - 1) + 1
    const n = Math.max(1, Math.ceil((end - start) / width))
    const line: string[] = []
    for (let r = Math.max(0, n - (count - rows.length)); r < n; r++)
      line.push(text.slice(start + r * width, Math.min(end, start + (r + 1) * width)))
    rows.unshift(...line)
    if (rows.length >= count || start === 0) return rows
    end = start - 1
  }
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

  /** the escape sequence that erases the live region (one write per redraw: no flicker, one system call) */
  const clear = (): string => {
    const seq = drawn > 0 ? `\x1b[${drawn}A\r\x1b[0J` : ''
    drawn = 0
    return seq
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
      if (s.shown) for (const l of tailRows(s.shown, columns() - 2, tail)) lines.push(`  ${l}`)
    }
    return lines
  }
  /** redraws the live region, after `above` (text printed above it for good) */
  const draw = (above = '') => {
    dirty = false
    const erase = clear()
    const lines = region()
    const text = erase + above + (lines.length ? lines.join('\n') + '\n' : '')
    if (text) out.write(text)
    drawn = lines.length
  }
  /** prints lines above the live region, for good */
  const commit = (text: string) => draw(text.endsWith('\n') ? text : text + '\n')
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
          waiting = 'loading models…'
          if (e.text) commit(safeText(e.text))
          break
        case 'stage-start':
          running.set(e.stage, { model: e.model, text: '', shown: '', tokens: 0, logSum: 0 })
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
            s.shown += safeText(e.text)
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
        case 'error': {
          if (e.stage) running.delete(e.stage)
          const erase = clear()
          if (erase) out.write(erase)
          err.write(errorLine(e, p) + '\n')
          draw()
          break
        }
        case 'tool-call':
        case 'tool-result':
          commit(p.dim(`  ${e.stage} ${toolLine(e)}`))
          break
        case 'done':
          waiting = undefined
          running.clear()
          commit(summaryLine(e, p))
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
      const erase = clear()
      if (erase) out.write(erase)
    },
  }
}

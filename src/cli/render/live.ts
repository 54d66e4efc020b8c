/**
 * The terminal renderer (stdout is a TTY). Stages that are running share a live region at the
 * bottom of the screen, each with its label, model, a spinner until its first token, its
 * confidence so far and the tail of its text; when the terminal is wide enough they stand side by
 * side in columns, else one above the other. When a stage ends, its whole text is printed above
 * the region for good, and so is what a stage had streamed when it failed or the run was
 * interrupted (Ctrl-C keeps the partial answer on screen). Text is wrapped at word boundaries, as
 * `ollama run` does (piped output, plain.ts, is not wrapped). Redraws are
 * throttled so a fast model does not flood the terminal. Other writes to the terminal while the
 * region is drawn (a plugin's console.error) are placed above it.
 */
import type { CoreEvent, RunEvent } from '../../engine/events.js'
import { paint, pct, safeEvent, safeText, seconds } from './format.js'
import { interceptWrites, type Around } from './intercept.js'
import { columnWidth, displayWidth, sideBySide, truncate, wrapWords } from './layout.js'
import {
  debugLine,
  errorLine,
  firstOfEachError,
  isKnownEvent,
  logLine,
  pluginEventLine,
  pullLine,
  summaryLine,
  toolLine,
} from './lines.js'
import type { Out, Renderer } from './renderer.js'

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
const FRAME_MS = 80
/** narrowest column worth reading: below it, stages are stacked */
const MIN_COLUMN = 30
const GAP = ' │ '
/** lines of text shown per stage: alone, stacked with others, in a column */
const TAIL = 6
const TAIL_STACKED = 3
const TAIL_COLUMN = 6

interface LiveStage {
  model: string
  /** escaped text streamed so far */
  text: string
  tokens: number
  /** the stage's confidence so far, as the engine computes it (the same number its stage-end will give) */
  confidence: number
}

export interface LiveOptions {
  columns?: number
  rows?: number
  color?: boolean
  /** show events of types the renderer does not know (`--debug`) */
  debug?: boolean
  /** place other writes to `out` and `err` above the region (default true) */
  intercept?: boolean
}

/** The last `tail` lines of text wrapped to `width`, wrapping only the end of a long text. */
function tailLines(text: string, width: number, tail: number): string[] {
  const budget = (tail + 2) * width * 2 + 256
  const recent = text.length > budget ? text.slice(-budget) : text
  const lines = wrapWords(recent.replace(/\t/g, '    '), width)
  // the first line of a cut text may be the end of a longer one
  if (recent !== text) lines.shift()
  return lines.slice(-tail)
}

export function liveRenderer(out: Out, err: Out, options: LiveOptions = {}): Renderer {
  const p = paint(options.color ?? !process.env.NO_COLOR)
  const width = () => Math.max(20, (options.columns ?? (process.stdout.columns || 80)) - 2)
  // the region must fit on screen, or moving the cursor up could not reach its top to erase it
  const height = () => Math.max(3, (options.rows ?? (process.stdout.rows || 24)) - 2)
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
  /** a foreign write left the cursor mid-line: the region starts on the next one */
  let midLine = false

  const foreign: Around = (pass, endsLine) => {
    inOneWrite(clear)
    const r = pass()
    midLine = !endsLine
    inOneWrite(draw)
    return r
  }
  const intercept = options.intercept !== false
  const outIo = intercept ? interceptWrites(out, foreign) : undefined
  const errIo = intercept && err !== out ? interceptWrites(err, foreign) : outIo
  const rawWrite = outIo ? outIo.raw : (s: string) => void out.write(s)
  const rawWriteErr = errIo ? errIo.raw : (s: string) => void err.write(s)
  // what one event (or frame) draws goes out in one write: erasing, printing above, redrawing
  let pending: string[] | undefined
  const write = (s: string) => (pending ? void pending.push(s) : rawWrite(s))
  const flushPending = () => {
    if (!pending?.length) return
    const text = pending.join('')
    pending.length = 0
    rawWrite(text)
  }
  // stderr is another stream: what stdout has queued goes first, so the two stay in order
  const writeErr = (s: string) => {
    flushPending()
    rawWriteErr(s)
  }
  function inOneWrite(fn: () => void): void {
    if (pending) return fn()
    pending = []
    try {
      fn()
    } finally {
      flushPending()
      pending = undefined
    }
  }

  function endForeignLine() {
    if (midLine) write('\n')
    midLine = false
  }
  function clear() {
    if (drawn > 0) write(`\x1b[${drawn}A\r\x1b[0J`)
    drawn = 0
  }
  /** text wrapped at word boundaries to the terminal's width, each line indented */
  const paragraphs = (text: string, indent = '') =>
    wrapWords(text.replace(/\t/g, '    '), width() - indent.length)
      .map((l) => indent + l)
      .join('\n')
  const header = (name: string, s: LiveStage, spin: string) => {
    const conf = s.tokens ? ` · confidence ${pct(s.confidence)}` : ''
    const detail = `${s.model}${s.tokens ? ` · ${s.tokens} tokens${conf}` : ' · waiting for the first token'}`
    return `${s.tokens === 0 ? spin : p.cyan('▸')} ${p.bold(name)} ${p.dim(detail)}`
  }
  const region = (): string[] => {
    const w = width()
    const spin = p.cyan(FRAMES[frame % FRAMES.length]!)
    const lines: string[] = []
    if (pull) lines.push(truncate(`${spin} ${pull}`, w))
    if (running.size === 0 && waiting) lines.push(truncate(`${spin} ${p.dim(waiting)}`, w))
    const stages = [...running]
    const column = columnWidth(w, stages.length, displayWidth(GAP))
    if (stages.length > 1 && column >= MIN_COLUMN) {
      const blocks = stages.map(([name, s]) => [
        header(name, s, spin),
        ...(s.text ? tailLines(s.text, column, TAIL_COLUMN) : []),
      ])
      lines.push(...sideBySide(blocks, w, p.dim(GAP)))
    } else {
      const tail = stages.length > 1 ? TAIL_STACKED : TAIL
      for (const [name, s] of stages) {
        lines.push(truncate(header(name, s, spin), w))
        if (s.text) for (const l of tailLines(s.text, w - 2, tail)) lines.push(`  ${l}`)
      }
    }
    return lines.slice(0, height())
  }
  function draw() {
    dirty = false
    clear()
    const lines = region()
    if (lines.length === 0) return
    endForeignLine()
    write(lines.join('\n') + '\n')
    drawn = lines.length
  }
  /** prints text above the live region, for good, wrapped to the terminal's width */
  const commit = (text: string, to = write) => {
    clear()
    endForeignLine()
    to(paragraphs(text.replace(/\n$/, '')) + '\n')
    draw()
  }
  /** what a stage had streamed when it stopped without finishing, kept on screen */
  const keepPartial = (name: string, why: string) => {
    const s = running.get(name)
    running.delete(name)
    if (!s?.text.trim()) return
    const head = `${p.red('■')} ${p.bold(name)} ${p.dim(`${s.model} · ${s.tokens} tokens · ${why}`)}`
    commit(`${head}\n${s.text.trim()}`)
  }
  const tick = () => {
    frame++
    inOneWrite(draw)
  }
  timer = setInterval(tick, FRAME_MS)
  timer.unref()

  return {
    event(ev: RunEvent) {
      inOneWrite(() => onEvent(ev))
    },
    close() {
      inOneWrite(onClose)
    },
  }

  function onEvent(ev: RunEvent): void {
    const e = safeEvent(ev) as CoreEvent
    switch (e.type) {
      case 'ack':
        waiting = `${e.chain}: getting ready…`
        commit(p.dim(`▸ ${e.chain} · ${e.runId}`))
        break
      case 'plan':
        planned = true
        waiting = 'loading models…'
        if (e.text) commit(e.text)
        break
      case 'prompt':
        commit(
          p.dim(
            [`▹ ${e.stage} prompt`, ...(e.system !== undefined ? [paragraphs(`system: ${e.system}`, '  ')] : [])]
              .concat(paragraphs(e.text, '  '))
              .join('\n'),
          ),
        )
        break
      case 'stage-start':
        running.set(e.stage, { model: e.model, text: '', tokens: 0, confidence: 0 })
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
          // older streams (a --json log replayed) may lack it: the token's own then
          s.confidence = e.stageConfidence ?? e.confidence
        }
        dirty = true
        break
      }
      case 'stage-end': {
        const s = running.get(e.stage)
        running.delete(e.stage)
        const declared = e.confidenceSource === 'declared' ? ' (declared)' : ''
        const confidence = `confidence ${pct(e.confidence)}${declared}`
        const detail = `${e.model} · ${e.tokens} tokens · ${confidence} · ${seconds(e.ms)}`
        const head = `${p.green('■')} ${p.bold(e.stage)} ${p.dim(detail)}`
        commit(`${head}\n${(s?.text ?? '').trim()}`)
        break
      }
      case 'stage-skip':
        running.delete(e.stage)
        commit(`${p.yellow('□')} ${p.bold(e.stage)} ${p.dim(`skipped: ${e.reason}`)}`)
        break
      case 'error':
        if (e.stage) keepPartial(e.stage, e.code === 'ABORTED' ? 'interrupted' : 'failed')
        // several stages failing alike (an unreachable server) say it once
        if (isNew(e)) commit(errorLine(e, p), writeErr)
        else dirty = true
        break
      case 'log':
        if (e.level === 'warn') commit(p.yellow(`! ${logLine(e)}`), writeErr)
        else commit(`  ${logLine(e)}`)
        break
      case 'tool-call':
      case 'tool-result':
        commit(p.dim(`  ${e.stage} ${toolLine(e)}`))
        break
      case 'done':
        waiting = undefined
        for (const name of [...running.keys()]) keepPartial(name, 'stopped')
        if (planned || e.ok) commit(summaryLine(e, p))
        else draw()
        break
      default: {
        // a plugin saying what it is doing while nothing streams yet (starting a server, …)
        const message = (ev as { message?: unknown }).message
        if (ev.type === 'status' && typeof message === 'string') {
          waiting = (e as { message: string }).message
          dirty = true
          break
        }
        const line = pluginEventLine(ev)
        if (line) {
          pull = undefined
          commit(p.dim(`  ${safeText(line)}`))
        } else if (options.debug && !isKnownEvent(ev.type)) commit(p.dim(truncate(debugLine(ev), width())))
      }
    }
    // tokens wait for the next frame, so a fast model costs one redraw per frame, not per token
    if (dirty && e.type !== 'token') draw()
  }

  function onClose(): void {
    if (timer) clearInterval(timer)
    timer = undefined
    waiting = undefined
    pull = undefined
    // a run that ends without its stages ending (interrupted) keeps what they had streamed
    for (const name of [...running.keys()]) keepPartial(name, 'stopped')
    clear()
    outIo?.restore()
    if (errIo !== outIo) errIo?.restore()
  }
}

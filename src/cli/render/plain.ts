/**
 * Plain lines for pipes and logs (stdout is not a TTY): no cursor movement, no colour; each stage's
 * text is streamed a line at a time with its label, so concurrent stages stay readable. A turn's
 * lines go out in one write (batch.ts); stdout is flushed before anything goes to stderr, so the
 * two stay in order where they meet.
 */
import type { CoreEvent, RunEvent } from '../../engine/events.js'
import { paint, pct, safeEvent, safeText, seconds } from './format.js'
import { batched } from './batch.js'
import type { Out, Renderer } from './renderer.js'
import {
  debugLine,
  errorLine,
  firstOfEachError,
  isKnownEvent,
  labelled,
  logLine,
  pluginEventLine,
  pullLine,
  summaryLine,
  toolLine,
} from './lines.js'

export interface PlainOptions {
  /** show events of types the renderer does not know (`--debug`) */
  debug?: boolean
}

export function plainRenderer(stdout: Out, stderr: Out, options: PlainOptions = {}): Renderer {
  // a turn's lines go out in one write; stdout is flushed before anything goes to stderr, so the
  // two stay in order where they meet
  const out = batched(stdout)
  const err: Out = {
    write(s: string) {
      out.flush()
      return stderr.write(s)
    },
  }
  const pending = new Map<string, string>()
  const p = paint(false)
  let lastPull = ''
  // a run that failed before its plan has only its error to say: no summary line under it
  let planned = false
  const isNew = firstOfEachError()
  const flush = (stage: string, all: boolean) => {
    const lines = (pending.get(stage) ?? '').split('\n')
    const rest = all ? '' : lines.pop()!
    if (all && lines[lines.length - 1] === '') lines.pop()
    for (const line of lines) out.write(`[${stage}] ${line}\n`)
    pending.set(stage, rest)
  }
  return {
    event(ev: RunEvent) {
      const e = safeEvent(ev) as CoreEvent
      switch (e.type) {
        case 'ack':
          out.write(`▸ ${e.chain} (${e.runId})\n`)
          break
        case 'plan':
          planned = true
          if (e.text) out.write(`${e.text}\n`)
          break
        case 'prompt':
          if (e.system !== undefined) out.write(labelled(`${e.stage} system`, e.system))
          out.write(labelled(`${e.stage} prompt`, e.text))
          break
        case 'stage-start':
          out.write(`[${e.stage}] started on ${e.model}\n`)
          break
        case 'model-pull': {
          // one line per status and per tenth of the download, not one per progress message
          const key = `${e.model} ${e.status} ${e.total ? Math.floor((10 * (e.completed ?? 0)) / e.total) : ''}`
          if (key !== lastPull) out.write(pullLine(e) + '\n')
          lastPull = key
          break
        }
        case 'token':
          pending.set(e.stage, (pending.get(e.stage) ?? '') + e.text)
          if (e.text.includes('\n')) flush(e.stage, false)
          break
        case 'stage-end':
          flush(e.stage, true)
          out.write(
            `[${e.stage}] done · ${e.tokens} tokens · confidence ${pct(e.confidence)} (${e.confidenceSource})` +
              ` · ${seconds(e.ms)}\n`,
          )
          break
        case 'stage-skip':
          flush(e.stage, true)
          out.write(`[${e.stage}] skipped: ${e.reason}\n`)
          break
        case 'error':
          if (e.stage) flush(e.stage, true)
          if (isNew(e)) err.write(errorLine(e, p) + '\n')
          break
        case 'log':
          ;(e.level === 'warn' ? err : out).write(`[log] ${logLine(e)}\n`)
          break
        case 'done':
          if (planned || e.ok) out.write(summaryLine(e, p) + '\n')
          out.flush()
          break
        case 'tool-call':
        case 'tool-result':
          flush(e.stage, true)
          out.write(`[${e.stage}] ${toolLine(e)}\n`)
          break
        default: {
          const line = pluginEventLine(ev)
          if (line)
            out.write(`[${['memory', 'docs', 'route'].includes(ev.type) ? ev.type : 'model'}] ${safeText(line)}\n`)
          else if (options.debug && !isKnownEvent(ev.type)) out.write(`[event] ${debugLine(ev)}\n`)
        }
      }
    },
    close() {
      for (const stage of pending.keys()) flush(stage, true)
      out.flush()
    },
  }
}

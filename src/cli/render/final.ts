/**
 * `--no-stream`: only the final answer on stdout; on stderr, what the user must or asked to see
 * (errors, plugins' warnings, prompts with --show-prompt, unknown events with --debug).
 */
import type { CoreEvent, RunEvent } from '../../engine/events.js'
import { safeEvent, safeText } from './format.js'
import { debugLine, firstOfEachError, isKnownEvent, labelled, logLine, pluginWarning } from './lines.js'
import type { Out, Renderer } from './renderer.js'

export interface FinalOptions {
  /** show events of types the renderer does not know (`--debug`) */
  debug?: boolean
}

export function finalRenderer(out: Out, err: Out, options: FinalOptions = {}): Renderer {
  const isNew = firstOfEachError()
  return {
    event(ev: RunEvent) {
      if (ev.type === 'token') return
      const e = safeEvent(ev) as CoreEvent
      if (e.type === 'error') {
        if (isNew(e)) err.write(`${e.stage ? `${e.stage}: ` : ''}${e.code}: ${e.message}\n`)
      } else if (e.type === 'done' && typeof e.answer === 'string' && e.answer) out.write(e.answer.trim() + '\n')
      else if (e.type === 'log' && e.level === 'warn') err.write(`[log] ${logLine(e)}\n`)
      else if (e.type === 'prompt') {
        if (e.system !== undefined) err.write(labelled(`${e.stage} system`, e.system))
        err.write(labelled(`${e.stage} prompt`, e.text))
      } else {
        // memory or documents that cannot help this run: the user must hear it, even without the stream
        const warning = pluginWarning(ev)
        if (warning !== undefined) err.write(`[${ev.type}] ${safeText(warning)}\n`)
        else if (options.debug && !isKnownEvent(ev.type)) err.write(`[event] ${debugLine(ev)}\n`)
      }
    },
    close: () => {},
  }
}

/** `--no-stream`: only the final answer on stdout; problems on stderr. */
import type { RunEvent } from '../../engine/events.js'
import { safeText } from './format.js'
import { firstOfEachError } from './lines.js'
import type { Out, Renderer } from './renderer.js'

export function finalRenderer(out: Out, err: Out): Renderer {
  const isNew = firstOfEachError()
  return {
    event(e: RunEvent) {
      if (e.type === 'error') {
        if (isNew({ code: e.code, message: e.message }))
          err.write(`${e.stage ? `${String(e.stage)}: ` : ''}${String(e.code)}: ${String(e.message)}\n`)
      } else if (e.type === 'done' && typeof e.answer === 'string' && e.answer)
        out.write(safeText(e.answer).trim() + '\n')
    },
    close: () => {},
  }
}

/**
 * `--json`: one event per line (NDJSON), exactly as the engine emits them. Lines produced in the
 * same turn of the event loop go out in one write: a fast model delivers many tokens per socket
 * read, and one syscall per token would cap throughput far below the model's; a slow model still
 * sees each token written the moment it arrives.
 */
import type { RunEvent } from '../../engine/events.js'
import type { Out, Renderer } from './renderer.js'

export function jsonRenderer(out: Out): Renderer {
  let pending: string[] = []
  let scheduled = false
  const flush = () => {
    scheduled = false
    if (pending.length === 0) return
    const text = pending.join('')
    pending = []
    out.write(text)
  }
  return {
    event(e: RunEvent) {
      pending.push(JSON.stringify(e) + '\n')
      if (e.type === 'ack' || e.type === 'done') return flush()
      if (!scheduled) {
        scheduled = true
        setImmediate(flush)
      }
    },
    close: flush,
  }
}

/**
 * `--json`: one event per line (NDJSON), exactly as the engine emits them, a turn's lines in one
 * write (batch.ts); the first and the last event go out at once.
 */
import type { RunEvent } from '../../engine/events.js'
import { batched } from './batch.js'
import type { Out, Renderer } from './renderer.js'

export function jsonRenderer(out: Out): Renderer {
  const batch = batched(out)
  return {
    event(e: RunEvent) {
      batch.write(JSON.stringify(e) + '\n')
      if (e.type === 'ack' || e.type === 'done') batch.flush()
    },
    close: batch.flush,
  }
}

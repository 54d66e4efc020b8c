/** `--json`: one event per line (NDJSON), exactly as the engine emits them. */
import type { RunEvent } from '../../engine/events.js'
import type { Out, Renderer } from './renderer.js'

export function jsonRenderer(out: Out): Renderer {
  return {
    event: (e: RunEvent) => out.write(JSON.stringify(e) + '\n'),
    close: () => {},
  }
}

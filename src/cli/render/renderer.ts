/** A renderer draws a run's events. Every output mode (`--json`, terminal, plain, final answer only) is one. */
import type { RunEvent } from '../../engine/events.js'

export interface Renderer {
  event(e: RunEvent): void
  /** called once the run is over (flush, restore the cursor) */
  close(): void
}

export interface Out {
  write(s: string): unknown
}

/**
 * Output produced in the same turn of the event loop goes out in one write: a fast model delivers
 * many tokens per socket read, and a write (a system call on a pipe) per token or per line would
 * cap throughput far below the model's; a slow model still sees each piece written the moment it
 * arrives.
 */
import type { Out } from './renderer.js'

export interface Batch {
  /** queues text for this turn's write */
  write(s: string): void
  /** writes what is queued now (before writing elsewhere, and at the end) */
  flush(): void
}

export function batched(out: Out): Batch {
  let pending = ''
  let scheduled = false
  const flush = (): void => {
    scheduled = false
    if (!pending) return
    const text = pending
    pending = ''
    out.write(text)
  }
  return {
    write(s) {
      pending += s
      if (!scheduled) {
        scheduled = true
        setImmediate(flush)
      }
    },
    flush,
  }
}

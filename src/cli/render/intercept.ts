/**
 * While the live region is on screen, anything else written to the terminal (a plugin's
 * `console.error`, a library's warning) would land inside the region and be erased or garbled by
 * the next redraw. `interceptWrites` sends every write to a stream through `around`, which can
 * erase the region, let the write through and draw the region again below it; the renderer's own
 * output goes past the interception with `raw`.
 */
import type { Out } from './renderer.js'

export interface Intercepted {
  /** writes to the stream itself, not intercepted */
  raw(s: string): void
  /** puts the stream's own `write` back */
  restore(): void
}

/** `pass` performs the write; `endsLine` says whether it ended with a newline. */
export type Around = (pass: () => unknown, endsLine: boolean) => unknown

function endsWithNewline(chunk: unknown): boolean {
  if (typeof chunk === 'string') return chunk.endsWith('\n')
  if (chunk instanceof Uint8Array) return chunk.length === 0 || chunk[chunk.length - 1] === 0x0a
  return true
}

export function interceptWrites(target: Out, around: Around): Intercepted {
  const own = Object.prototype.hasOwnProperty.call(target, 'write')
  const original = target.write
  const pass = (args: unknown[]) => Reflect.apply(original, target, args) as unknown
  let active = true
  const intercepted = (...args: unknown[]) => (active ? around(() => pass(args), endsWithNewline(args[0])) : pass(args))
  target.write = intercepted
  return {
    raw: (s) => void pass([s]),
    restore() {
      active = false
      // someone wrapped `write` after us: leave theirs in place (ours now only passes through)
      if (target.write !== intercepted) return
      if (own) target.write = original
      else Reflect.deleteProperty(target, 'write')
    },
  }
}

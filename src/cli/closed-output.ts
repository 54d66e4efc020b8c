/**
 * A reader that goes away before the output ends (`mirador chain run … | head`) closes the pipe,
 * and the next write fails with EPIPE. That is no error of Mirador's: without a listener, Node
 * would throw it as an unhandled 'error' event with a stack trace. A run stops quietly instead,
 * as an interrupted run does (status 130); other commands finish without printing more.
 */
import { EventEmitter } from 'node:events'

export function isClosedOutput(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code
  // EPIPE on the write that found the pipe closed; ERR_STREAM_DESTROYED on the writes after it
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED'
}

/**
 * Calls `onClosed` once when writing to `stream` fails because its reader went away. Other errors
 * are thrown on, as if nobody listened. The listener stays for the life of the process: later
 * writes to the closed stream fail too, and must not crash it.
 */
export function onOutputClosed(stream: object, onClosed: () => void): void {
  if (!(stream instanceof EventEmitter)) return
  let closed = false
  stream.on('error', (err: unknown) => {
    if (!isClosedOutput(err)) throw err
    if (closed) return
    closed = true
    onClosed()
  })
}

/** An AbortSignal that aborts when `stream`'s reader goes away. */
export function outputClosedSignal(stream: object, reason: unknown): AbortSignal {
  const controller = new AbortController()
  onOutputClosed(stream, () => controller.abort(reason))
  return controller.signal
}

/**
 * Reads a streamed Ollama body (chat, pull, create) a network chunk at a time, each line parsed
 * exactly once, and that parse is also the check:
 * - a line that is not JSON, or JSON that is not an object, fails the stream with an NdjsonError
 *   (the client would only console.warn and skip it);
 * - an `{"error": …}` line is noted in the StreamWatch, to be reported in Ollama's words, and
 *   fails the stream as the client does;
 * - the lines before a bad one are delivered first; the failure comes with the next read.
 *
 * The client sends the request and checks the HTTP status; its fetch (client.ts) hands the body
 * over here instead of to the client's own parser, which would parse every line a second time
 * behind two more async generators. When the request is stopped, a read in progress ends at
 * once (the reader is cancelled), whatever the body's source does: no race per chunk is needed.
 */
import type { StreamWatch } from './client.js'

export class NdjsonError extends Error {
  constructor(
    readonly line: string,
    /** what the line is not, for the message a user sees */
    readonly what: 'JSON' | 'a JSON object' = 'JSON',
  ) {
    super(`not ${what}: ${line.length > 80 ? `${line.slice(0, 80)}…` : line}`)
    this.name = 'NdjsonError'
  }
}

export class NdjsonReader<T extends object> {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>
  readonly #decoder = new TextDecoder()
  readonly #watch: StreamWatch
  readonly #signal: AbortSignal
  #buffer = ''
  #ended = false
  /** thrown by the next read: the lines before it were delivered first */
  #failure: unknown

  readonly #onAbort = (): void => {
    this.#reader.cancel(this.#signal.reason).catch(() => {})
  }

  constructor(watch: StreamWatch, signal: AbortSignal) {
    if (!watch.body) throw new Error('Missing body')
    this.#watch = watch
    this.#signal = signal
    this.#reader = watch.body.getReader()
    if (signal.aborted) this.#onAbort()
    else signal.addEventListener('abort', this.#onAbort, { once: true })
  }

  /**
   * The messages of the complete lines in the next chunk (none when it ends mid-line), or
   * undefined once the body has ended.
   */
  async read(): Promise<T[] | undefined> {
    if (this.#failure !== undefined) throw this.#failure
    if (this.#ended) return undefined
    const { done, value } = await this.#reader.read()
    let text: string
    if (done) {
      this.#ended = true
      // the last line may lack its newline
      text = this.#buffer + this.#decoder.decode() + '\n'
    } else {
      text = this.#buffer + this.#decoder.decode(value, { stream: true })
    }
    const out: T[] = []
    let start = 0
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const line = text.slice(start, nl)
      start = nl + 1
      try {
        const message = this.#parse(line)
        if (message) out.push(message)
      } catch (err) {
        this.#failure = err
        if (out.length === 0) throw err
        break
      }
    }
    this.#buffer = text.slice(start)
    return out
  }

  #parse(line: string): T | undefined {
    let message: unknown
    try {
      message = JSON.parse(line)
    } catch {
      const trimmed = line.trim()
      // blank lines are allowed between messages
      if (!trimmed) return undefined
      throw new NdjsonError(trimmed)
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message))
      throw new NdjsonError(line.trim(), 'a JSON object')
    if ('error' in message) {
      this.#watch.errorLine = String(message.error)
      throw new Error(this.#watch.errorLine)
    }
    return message as T
  }

  /** stops listening for the request's end (the body is the fetch's: aborting it closes it) */
  close(): void {
    this.#signal.removeEventListener('abort', this.#onAbort)
  }
}

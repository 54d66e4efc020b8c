/**
 * Where `mirador chat` gets its lines. In a terminal: node:readline's line editing and history
 * (the up arrow recalls earlier lines, this chat's and the saved ones), with one interface per
 * prompt, closed again before the answer streams: the terminal is then back in its ordinary mode,
 * so Ctrl-C reaches the process as SIGINT and cancels the answer, and what is typed meanwhile waits
 * for the next prompt. From a pipe: one line after another, no prompt, until the end of the input.
 */
import { createInterface } from 'node:readline'
import { HISTORY_SIZE } from './history.js'

export type ReadResult = { line: string } | { eof: true } | { interrupted: true }

export interface LineReader {
  read(prompt: string): Promise<ReadResult>
  /** the lines typed, newest first, with the history given at the start */
  history(): string[]
  close(): void
}

interface Streams {
  input: NodeJS.ReadableStream & { isTTY?: boolean }
  output: NodeJS.WritableStream
}

/** A terminal's reader: editing, history, Ctrl-C at the prompt clears it, Ctrl-D on an empty line ends. */
export function terminalReader({ input, output }: Streams, history: string[]): LineReader {
  // readline adds to (and trims) the array it is given
  let lines = [...history]
  return {
    history: () => lines,
    close: () => {},
    read(prompt) {
      const rl = createInterface({
        input,
        output,
        terminal: true,
        history: lines,
        historySize: HISTORY_SIZE,
        removeHistoryDuplicates: true,
      })
      return new Promise<ReadResult>((resolve) => {
        let result: ReadResult = { eof: true }
        rl.on('line', (line) => {
          result = { line }
          rl.close()
        })
        rl.on('SIGINT', () => {
          result = { interrupted: true }
          output.write('^C\n')
          rl.close()
        })
        rl.on('history', (h: string[]) => (lines = h))
        rl.on('close', () => resolve(result))
        rl.setPrompt(prompt)
        rl.prompt()
      })
    },
  }
}

/** A pipe's reader: each line in turn, nothing written. */
export function pipeReader({ input }: Pick<Streams, 'input'>): LineReader {
  const rl = createInterface({ input, terminal: false, crlfDelay: Infinity })
  const lines = rl[Symbol.asyncIterator]()
  return {
    history: () => [],
    close: () => rl.close(),
    async read() {
      const next = await lines.next()
      return next.done ? { eof: true } : { line: String(next.value) }
    },
  }
}

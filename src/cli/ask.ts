/** The one y/N question Mirador asks in a terminal (approving a plugin, enabling one, forgetting). */

export interface PromptStreams {
  input: NodeJS.ReadableStream & { isTTY?: boolean }
  output: NodeJS.WritableStream & { isTTY?: boolean }
}

const TERMINAL: PromptStreams = { input: process.stdin, output: process.stderr }

/** Asks `question` (which shows its own `[y/N]`); anything but y or yes is no. */
export async function askYesNo(question: string, { input, output }: PromptStreams = TERMINAL): Promise<boolean> {
  // readline loads only when there is something to ask
  const { createInterface } = await import('node:readline/promises')
  const rl = createInterface({ input, output })
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim())
  } finally {
    rl.close()
  }
}

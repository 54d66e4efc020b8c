/**
 * Asking before a plugin is enabled: y/N in a terminal; with no terminal there is nobody to ask,
 * so the command needs --yes and says so before it fetches anything.
 */
import { MiradorError } from '../engine/errors.js'

export function requireTerminalOrYes(yes: boolean, command: string): void {
  if (!yes && !process.stdin.isTTY)
    throw new MiradorError(
      'USAGE',
      `no terminal to ask in: run \`${command} --yes\` to enable the plugin without being asked ` +
        '(or `mirador plugins check` to see what it would show first).',
    )
}

export async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises')
  const rl = createInterface({ input: process.stdin, output: process.stderr })
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim())
  } finally {
    rl.close()
  }
}

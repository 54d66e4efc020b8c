/**
 * Asking before a plugin is enabled: y/N in a terminal; with no terminal there is nobody to ask,
 * so the command needs --yes and says so before it fetches anything.
 */
import { askYesNo } from '../cli/ask.js'
import { MiradorError } from '../engine/errors.js'

export function requireTerminalOrYes(yes: boolean, command: string): void {
  if (!yes && !process.stdin.isTTY)
    throw new MiradorError(
      'USAGE',
      `no terminal to ask in: run \`${command} --yes\` to enable the plugin without being asked ` +
        '(or `mirador plugins check` to see what it would show first).',
    )
}

export function confirm(question: string): Promise<boolean> {
  return askYesNo(`${question} [y/N] `)
}

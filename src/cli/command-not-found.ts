/**
 * oclif's `command_not_found` hook: an unknown command is one USAGE line (exit 2), with the command
 * the user most likely meant when the words look like a typo (`mirador chian run q` → `chain run q`).
 * oclif joins every word of the command line into the id (`chian:run:q`), arguments included.
 * A plugin's command (`mirador today`) is not oclif's: it is found and run here (plugin-commands/).
 */
import type { Hook } from '@oclif/core'
import { didYouMean } from '../engine/config/message-words.js'

/**
 * The nearest known command or topic to the first words of `id`, longest first, each length
 * compared only with names of as many words; `words` is how many of id's words it replaces.
 */
export function guessCommand(id: string, known: readonly string[]): { guess: string; words: number } | undefined {
  const words = id.split(':')
  for (let n = words.length; n >= 1; n--) {
    const same = known.filter((k) => k.split(':').length === n)
    const guess = didYouMean(words.slice(0, n).join(':'), same)
    if (guess) return { guess, words: n }
  }
  return undefined
}

const hook: Hook<'command_not_found'> = async function ({ id, argv, config }) {
  const { dispatchPluginCommand } = await import('./plugin-commands/dispatch.js')
  const plugin = await dispatchPluginCommand(id, argv ?? [], config)
  if ('code' in plugin) {
    process.exitCode = plugin.code
    return
  }
  const words = id.split(':')
  const g = guessCommand(id, [...config.commandIDs, ...config.topics.map((t) => t.name), ...plugin.known])
  const typed = words.slice(0, g?.words ?? 1).join(' ')
  const meant = g ? [g.guess.replaceAll(':', ' '), ...words.slice(g.words)].join(' ') : undefined
  process.stderr.write(
    `✗ USAGE: there is no command "${typed}".` +
      (meant ? ` Did you mean \`${config.bin} ${meant}\`?` : '') +
      ` See \`${config.bin} --help\` for the commands.\n`,
  )
  process.exitCode = 2
}

export default hook

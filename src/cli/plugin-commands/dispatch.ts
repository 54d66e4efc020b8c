/**
 * `mirador NAME …` for a name no built-in has (oclif's command_not_found hook): the plugin command
 * it names, run (run.ts) with its errors printed as one line with a code; or, when there is none,
 * the plugin commands' ids, for the hook's "did you mean".
 */
import type { Config } from '@oclif/core'
import { MiradorError } from '../../engine/errors.js'
import { safeText } from '../render/format.js'
import { findCommand, pluginCommands } from './catalog.js'
import { builtinWords } from './names.js'
import { runPluginCommand } from './run.js'

/**
 * The words after the command's `used` words. oclif joined every word before the first flag into
 * `id` with `:`, which loses a `:` inside an argument; the command line itself keeps it.
 */
function argvAfter(used: number, id: string, argv: string[], raw = process.argv.slice(2)): string[] {
  const idWords = id.split(':')
  let words = 0
  let i = 0
  while (i < raw.length && words < used) words += raw[i++]!.split(':').length
  const same = words === used && raw.slice(0, i).join(':') === idWords.slice(0, used).join(':')
  return same ? raw.slice(i) : [...idWords.slice(used), ...argv]
}

export async function dispatchPluginCommand(
  id: string,
  argv: string[],
  config: Pick<Config, 'commandIDs' | 'topics'>,
): Promise<{ code: number } | { known: string[] }> {
  const builtins = await builtinWords(config)
  const words = id.split(':')
  // a plugin command never starts with a built-in's word: `mirador chain foo` is a typo, not a plugin's
  if (builtins.has(words[0]!)) return { known: [] }
  const env = process.env
  const catalog = await pluginCommands({ cwd: process.cwd(), env, builtins })
  const found = findCommand(catalog.commands, words)
  if (!found) return { known: catalog.commands.filter((c) => !c.unapproved).map((c) => c.words.join(':')) }
  try {
    const rest = argvAfter(found.used, id, argv)
    return { code: await runPluginCommand(found.command, rest, { cwd: process.cwd(), env, home: catalog.home }) }
  } catch (err) {
    const e = MiradorError.from(err, 'PLUGIN_FAILED')
    process.stderr.write(`✗ ${e.code}: ${safeText(e.format())}\n`)
    return { code: e.code === 'USAGE' ? 2 : 1 }
  }
}

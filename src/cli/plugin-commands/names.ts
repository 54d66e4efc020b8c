/**
 * A plugin's command names against Mirador's own: a plugin may not add a command whose first word
 * is the first word of a built-in command or topic (`chain`, `doctor`, `plugins`, …), so it can
 * neither shadow nor slip into one of them. Checked by `plugins check` (and so `install`) and each
 * time plugin commands are listed or run; built-ins always win anyway, as oclif finds them first.
 */
import type { Config } from '@oclif/core'
import { MiradorError } from '../../engine/errors.js'
import { manifestLocation, type LoadedPluginManifest } from '../../engine/plugin-manifest.js'
import { PACKAGE_ROOT } from '../../engine/package-root.js'

/** Words oclif handles itself, whatever the commands. */
const OCLIF_WORDS = ['help', 'version', 'autocomplete', 'commands']

/** A command name's words: `today zones` and `today:zones` are the same command. */
export function commandWords(name: string): string[] {
  return name.split(/[ :]/)
}

/** The first words of Mirador's commands and topics, from oclif's config (loaded when not given). */
export async function builtinWords(config?: Pick<Config, 'commandIDs' | 'topics'>): Promise<Set<string>> {
  const c = config ?? (await (await import('@oclif/core')).Config.load(PACKAGE_ROOT))
  return new Set([...c.commandIDs, ...c.topics.map((t) => t.name), ...OCLIF_WORDS].map((id) => id.split(':')[0]!))
}

/** The manifest's commands that would shadow a built-in, each as a PLUGIN_MANIFEST error at its name. */
export async function shadowingCommands(loaded: LoadedPluginManifest, builtins: Set<string>): Promise<MiradorError[]> {
  const errors: MiradorError[] = []
  for (const name of Object.keys(loaded.manifest.commands ?? {})) {
    const first = commandWords(name)[0]!
    if (!builtins.has(first)) continue
    const location = await manifestLocation(loaded.packageFile, ['commands', name], 'key')
    errors.push(
      new MiradorError(
        'PLUGIN_MANIFEST',
        `plugin ${loaded.name}: its command "${name}" would shadow Mirador's own \`mirador ${first}\`, ` +
          'so it is refused: rename it in mirador.commands of its package.json ' +
          '(docs/plugins.md, Commands a plugin adds)',
        { ...(location ? { location } : {}), details: { plugin: loaded.name, command: name } },
      ),
    )
  }
  return errors
}

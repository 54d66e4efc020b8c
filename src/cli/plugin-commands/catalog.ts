/**
 * The commands of the plugins the config enables, from their manifests alone: no plugin code runs
 * to list them (`mirador --help`) or to find the one `mirador NAME` names. A plugin the user's deny
 * list refuses adds none; a project plugin not approved as it is now is kept apart (never listed;
 * running its command asks for approval first, as `chain run` does).
 */
import path from 'node:path'
import type { PluginCommandManifest } from '../../engine/config/types.gen.js'
import { MiradorError } from '../../engine/errors.js'
import { readPluginManifest, type LoadedPluginManifest } from '../../engine/plugin-manifest.js'
import { resolvePluginEntry } from '../../engine/plugin-resolve.js'
import type { ConfiguredPlugin } from '../../engine/plugins.js'
import { storeNodeModules } from '../../plugin-store/paths.js'
import { assertLoadAllowed } from '../../plugin-store/policy.js'
import { configFiles, miradorHome } from '../paths.js'
import { approvalOf } from '../plugin-approval.js'
import type { CommandSpec } from '../spec.js'
import { commandWords, shadowingCommands } from './names.js'

export interface PluginCommand {
  /** its words joined by spaces, as a user types them */
  name: string
  words: string[]
  manifest: PluginCommandManifest
  /** for parsing argv and for help, as Mirador's own commands */
  spec: CommandSpec
  plugin: ConfiguredPlugin
  loaded: LoadedPluginManifest
  entryFile: string
  trusted: boolean
  /** a project plugin not approved as it is now: not listed, and asked about before it runs */
  unapproved: boolean
}

export interface PluginCommandCatalog {
  commands: PluginCommand[]
  /** commands refused: named like a built-in, or like another plugin's */
  problems: MiradorError[]
  home: string
}

export function commandSpec(c: PluginCommandManifest): CommandSpec {
  return {
    summary: c.summary,
    description: c.description ?? '',
    examples: c.examples ?? [],
    args: (c.args ?? []).map((a) => ({
      name: a.name,
      description: a.description ?? '',
      required: a.required === true,
    })),
    flags: Object.fromEntries(
      Object.entries(c.flags ?? {}).map(([name, f]) => [
        name,
        { type: f.type, description: f.description ?? '', ...(f.char ? { char: f.char } : {}) },
      ]),
    ),
  }
}

/** The plugins: entries of the config files in use, with their manifests; those that fail are left out. */
async function configured(cwd: string, home: string, env: NodeJS.ProcessEnv) {
  const files = configFiles(cwd, home, undefined, env)
  // no config, no plugins: `mirador --help` need not load the config machinery
  if (!files.length) return []
  const { loadMergedConfig } = await import('../setup.js')
  let plugins: ConfiguredPlugin[]
  try {
    plugins = (await loadMergedConfig(files, path.join(home, 'config.yaml'))).plugins
  } catch {
    // a config that does not load is reported by every command that runs with it
    return []
  }
  const found: { plugin: ConfiguredPlugin; loaded: LoadedPluginManifest; entryFile: string }[] = []
  for (const plugin of plugins) {
    plugin.nodeModules = [storeNodeModules(home)]
    const spec = typeof plugin.entry === 'string' ? plugin.entry : plugin.entry.name
    try {
      const entryFile = resolvePluginEntry(spec, plugin.baseDir, plugin.nodeModules)
      const loaded = await readPluginManifest(entryFile)
      if (!loaded.manifest.commands) continue
      assertLoadAllowed(loaded.name, home)
      found.push({ plugin, loaded, entryFile })
    } catch {
      // a plugin that does not load is reported by the commands that load it (chain run, doctor)
    }
  }
  return found
}

export async function pluginCommands(opts: {
  cwd: string
  env: NodeJS.ProcessEnv
  /** first words of Mirador's own commands and topics (names.ts) */
  builtins: Set<string>
}): Promise<PluginCommandCatalog> {
  const home = miradorHome(opts.env)
  const commands: PluginCommand[] = []
  const problems: MiradorError[] = []
  for (const { plugin, loaded, entryFile } of await configured(opts.cwd, home, opts.env)) {
    const shadowing = await shadowingCommands(loaded, opts.builtins)
    problems.push(...shadowing)
    const refused = new Set(shadowing.map((e) => e.details?.command))
    const unapproved = plugin.project === true && (await approvalOf(home, loaded.dir)).state !== 'approved'
    const trusted = typeof plugin.entry === 'object' && plugin.entry.trusted === true
    for (const [name, manifest] of Object.entries(loaded.manifest.commands ?? {})) {
      if (refused.has(name)) continue
      const words = commandWords(name)
      const taken = commands.find((c) => c.words.join(' ') === words.join(' '))
      if (taken) {
        problems.push(
          new MiradorError(
            'PLUGIN_MANIFEST',
            `plugin ${loaded.name}: its command "${name}" is plugin ${taken.loaded.name}'s already, which comes ` +
              'first in the config: only that one runs. Remove one of the plugins, or rename the command.',
            { details: { plugin: loaded.name, command: name } },
          ),
        )
        continue
      }
      commands.push({
        name: words.join(' '),
        words,
        manifest,
        spec: commandSpec(manifest),
        plugin,
        loaded,
        entryFile,
        trusted,
        unapproved,
      })
    }
  }
  return { commands, problems, home }
}

/** The command whose words start `words`, the longest such; `used` is how many words its name takes. */
export function findCommand(commands: readonly PluginCommand[], words: readonly string[]) {
  let best: { command: PluginCommand; used: number } | undefined
  for (const command of commands) {
    const n = command.words.length
    if (n <= words.length && command.words.every((w, i) => w === words[i]) && n > (best?.used ?? 0)) {
      best = { command, used: n }
    }
  }
  return best
}

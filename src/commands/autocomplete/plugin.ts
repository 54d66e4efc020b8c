/**
 * @oclif/plugin-autocomplete's commands, loaded when `mirador autocomplete` runs, never at start-up:
 * the package is not an oclif plugin of Mirador's (that would load its manifest on every command),
 * its classes are imported from its files here, and its generated scripts get Mirador's layer for
 * argument values (src/cli/complete/layer.ts). The package exports only its index, so its command
 * files are reached by path from it.
 */
import { readFile, writeFile } from 'node:fs/promises'
import type { Command, Config } from '@oclif/core'
import { bashLayer, zshLayer, type LayerInput } from '../../cli/complete/layer.js'

type PluginCommand = new (argv: string[], config: Config) => Command
interface CreateCommand extends Command {
  bashCompletionFunctionPath: string
  zshCompletionFunctionPath: string
}
interface IndexCommand extends Command {
  printShellInstructions(shell: string): void
}

async function pluginCommand(name: 'create' | 'index' | 'script'): Promise<PluginCommand> {
  const entry = import.meta.resolve('@oclif/plugin-autocomplete')
  const mod = (await import(new URL(`./commands/autocomplete/${name}.js`, entry).href)) as { default: PluginCommand }
  return mod.default
}

export function layerInput(config: Config): LayerInput {
  const valueFlags = config.commands.flatMap((c) =>
    Object.entries(c.flags ?? {})
      .filter(([, f]) => f.type === 'option')
      .flatMap(([name, f]) => [`--${name}`, ...(f.char ? [`-${f.char}`] : [])]),
  )
  return { bin: config.bin, ids: config.commands.map((c) => c.id), valueFlags: [...new Set(valueFlags)] }
}

/** Writes the plugin's scripts under oclif's cache folder, then adds the layer to the bash and zsh ones. */
export async function writeScripts(config: Config): Promise<{ bash: string; zsh: string }> {
  const create = new (await pluginCommand('create'))([], config) as CreateCommand
  await create.run()
  const input = layerInput(config)
  const bash = create.bashCompletionFunctionPath
  const zsh = create.zshCompletionFunctionPath
  await writeFile(bash, (await readFile(bash, 'utf8')) + bashLayer(input))
  await writeFile(zsh, zshLayer(input, await readFile(zsh, 'utf8')))
  return { bash, zsh }
}

export async function printInstructions(config: Config, shell: string): Promise<void> {
  const index = new (await pluginCommand('index'))([], config) as IndexCommand
  index.printShellInstructions(shell)
}

export async function runScript(config: Config, shell: string): Promise<void> {
  const Script = await pluginCommand('script')
  await new Script([shell], config).run()
}

import { Args } from '@oclif/core'
import { MiradorError } from '../../engine/errors.js'
import { MiradorCommand } from '../base.js'
import { modelsSetup } from './base.js'

export default class ModelsUnload extends MiradorCommand {
  static summary = 'Free the memory a model takes now (Ollama: keep_alive 0).'
  static description =
    "Asks the model's Ollama server to unload it at once. " +
    'A llama.cpp model is freed when the process that runs a chain ends, so there is nothing to unload from here.'
  static examples = ['<%= config.bin %> models unload deep', '<%= config.bin %> models unload quick --json']
  static args = { name: Args.string({ description: 'a manifest entry (or an Ollama tag)', required: true }) }

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(ModelsUnload)
    const s = await modelsSetup(flags.config as string | undefined)
    const r = await s.models.resolve(args.name)
    if (r.runtime === 'llamacpp') {
      this.log(`${r.name} runs on llama.cpp inside the process that uses it; it is freed when that process ends.`)
      return { model: r.name, runtime: r.runtime, unloaded: false }
    }
    const runtime = s.models.runtime(r)
    if (!runtime.unload || !runtime.listLoaded)
      throw new MiradorError('USAGE', `runtime ${r.runtime} cannot unload models`)
    const name = (await runtime.preparedName?.(r.spec)) ?? r.spec.base
    const targets = (await runtime.listLoaded()).filter((l) => l.model === name || l.model === `${name}:latest`)
    for (const t of targets) await runtime.unload(t.model)
    if (!this.jsonEnabled())
      this.log(targets.length ? `✓ unloaded ${targets.map((t) => t.model).join(', ')}` : `${r.name} was not loaded`)
    await s.engine.dispose()
    return { model: r.name, runtime: r.runtime, unloaded: targets.map((t) => t.model) }
  }
}

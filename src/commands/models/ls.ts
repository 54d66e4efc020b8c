import path from 'node:path'
import { inventory, type InventoryEntry } from '../../plugins/models/inventory.js'
import { MiradorCommand } from '../base.js'
import { gb, modelsSetup } from './base.js'

export default class ModelsLs extends MiradorCommand {
  static summary = 'List the models of models/manifest.yaml: present, loaded, size, adapters.'
  static description =
    'For each manifest entry: its runtime and base, ' +
    'whether the base is on disk (Ollama tags or the GGUF file) and loaded in memory (Ollama), ' +
    'its size, its adapters and priority, and the memory budget the model manager keeps to.'
  static examples = ['<%= config.bin %> models ls', '<%= config.bin %> models ls --json']

  async run(): Promise<{ budget: unknown; models: InventoryEntry[] }> {
    const { flags } = await this.parse(ModelsLs)
    const s = await modelsSetup(flags.config as string | undefined)
    const models = await inventory(s.models)
    const budget = await s.models.budget()
    if (!this.jsonEnabled()) {
      this.log(`manifest  ${s.manifest ?? '(none: model names are Ollama tags)'}`)
      const source = budget.source === 'auto' ? 'auto: 90 % of free memory' : 'manifest'
      this.log(`budget    ${budget.memoryGb} GB (${source}), at most ${budget.maxLoaded} models loaded`)
      for (const m of models) {
        const mark = m.loaded ? '●' : m.present ? '○' : '✗'
        const size = m.sizeGb !== null ? `${m.sizeGb} GB` : gb(m.baseBytes)
        const adapters = m.adapters.length
          ? ` + ${m.adapters.map((a) => `${path.basename(a.file)}${a.scale !== 1 ? ` ×${a.scale}` : ''}`).join(', ')}`
          : ''
        const base = m.runtime === 'llamacpp' ? path.basename(m.base) : m.base
        const priority = m.priority ? `  priority ${m.priority}` : ''
        this.log(
          `${mark} ${m.name.padEnd(14)} ${m.runtime.padEnd(9)} ${base + adapters}  ${size}${priority}  ${m.detail}`,
        )
      }
      this.log('● loaded  ○ on disk  ✗ missing')
    }
    return { budget, models }
  }
}

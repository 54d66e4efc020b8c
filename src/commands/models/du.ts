import path from 'node:path'
import { diskUsage, inventory, type DiskUsage } from '../../plugins/models/inventory.js'
import { MiradorCommand } from '../base.js'
import { gb, modelsSetup } from './base.js'

export default class ModelsDu extends MiradorCommand {
  static summary =
    "Disk used by the manifest's models: each base once, adapters listed, and the saving against full copies."
  static description =
    'Entries that put LoRA adapters on one base share it: the base is counted once and each adapter is a small file. ' +
    'The saving is against keeping every entry as a full copy of its base (a merged fine-tune). ' +
    'Sizes come from the files, from Ollama, or from size_gb in the manifest.'
  static examples = ['<%= config.bin %> models du', '<%= config.bin %> models du --json']

  async run(): Promise<DiskUsage> {
    const { flags } = await this.parse(ModelsDu)
    const s = await modelsSetup(flags.config as string | undefined)
    const du = diskUsage(await inventory(s.models))
    if (!this.jsonEnabled()) {
      this.log('bases (each counted once)')
      for (const b of du.bases)
        this.log(
          `  ${gb(b.bytes).padStart(9)}  ${b.base.padEnd(28)} ${b.runtime.padEnd(9)} used by ${b.entries.join(', ')}`,
        )
      if (du.adapters.length) {
        this.log('adapters')
        for (const a of du.adapters) {
          const missing = a.bytes === null ? '  (file missing)' : ''
          this.log(`  ${gb(a.bytes).padStart(9)}  ${path.basename(a.file).padEnd(28)} for ${a.entry}${missing}`)
        }
      }
      const share = du.fullCopiesBytes ? ` (${Math.round((100 * du.savedBytes) / du.fullCopiesBytes)} %)` : ''
      this.log(
        `total     ${gb(du.actualBytes)} on disk; as full copies ${gb(du.fullCopiesBytes)}; ` +
          `saved ${gb(du.savedBytes)}${share}`,
      )
    }
    return du
  }
}

import { MiradorCommand } from '../base.js'
import { docsSetup, indexWithProgress } from './base.js'

export default class DocsSync extends MiradorCommand {
  static summary = 'Index again what changed in every folder and file added with `docs add`.'
  static description =
    'Only files whose content changed are read and embedded again; files that are gone, or that the rules ' +
    'no longer choose, are dropped with their passages. After the memory embedder changed (`embed:` in the ' +
    'memory options), every file is embedded again with it. --json reports {added, changed, removed, ' +
    'unchanged} file counts.'
  static examples = ['<%= config.bin %> docs sync', '<%= config.bin %> docs sync --json']

  async run(): Promise<unknown> {
    const { flags } = await this.parse(DocsSync)
    const docs = await docsSetup(flags.config as string | undefined)
    return indexWithProgress(this, this.jsonEnabled(), (onProgress) => docs.sync(onProgress))
  }
}

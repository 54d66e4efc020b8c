import { stopChromaServer } from '../../plugins/memory/chroma/server.js'
import { miradorHome } from '../../cli/paths.js'
import { MiradorCommand } from '../base.js'

export default class MemoryStop extends MiradorCommand {
  static summary = 'Stop the local memory server Mirador started (its data stays).'
  static description =
    "Mirador starts Chroma's bundled server on first use and leaves it running for later runs; " +
    'it stops by itself after a quiet period. This stops it now. ' +
    "A server named by CHROMA_URL is not Mirador's to stop."
  static examples = ['<%= config.bin %> memory stop']

  async run(): Promise<{ stopped: boolean }> {
    await this.parse(MemoryStop)
    const stopped = await stopChromaServer(miradorHome())
    if (!this.jsonEnabled()) this.log(stopped ? '✓ the memory server stopped' : 'No memory server was running.')
    return { stopped }
  }
}

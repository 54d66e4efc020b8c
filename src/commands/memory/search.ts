import { Args, Flags } from '@oclif/core'
import { safeText } from '../../cli/render/format.js'
import { provenance } from '../../plugins/memory/recall.js'
import { MiradorCommand } from '../base.js'
import { memorySetup, oneLine, storeNotes } from './base.js'

export default class MemorySearch extends MiradorCommand {
  static summary = 'Find memories relevant to a text, with the scores recall uses.'
  static description =
    'The same hybrid recall that fills {{memory}}: vector similarity, ' +
    'then a lexical (BM25) score over the candidates and recency. Shows each component.'
  static examples = [
    '<%= config.bin %> memory search "my sister\'s birthday"',
    '<%= config.bin %> memory search "travel plans" -k 10 --json',
  ]
  static args = { query: Args.string({ description: 'what to look for', required: true }) }
  static flags = { k: Flags.integer({ char: 'k', description: 'How many results.', default: 5, min: 1, max: 50 }) }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(MemorySearch)
    const s = await memorySetup(flags.config as string | undefined)
    const found = await s.memory.search(args.query, flags.k)
    if (!this.jsonEnabled()) {
      for (const w of (await storeNotes(s.memory)).warnings) this.logToStderr(`! ${w}`)
      if (found.length === 0) this.log('Nothing relevant remembered.')
      for (const m of found) {
        const p = provenance(m)
        const parts =
          `similarity ${p.similarity.toFixed(3)}, ` + `lexical ${p.lexical.toFixed(3)}, recency ${p.recency.toFixed(3)}`
        this.log(`${m.id}  score ${p.score.toFixed(3)} (${parts})  ${safeText(oneLine(m.text, 70))}`)
      }
    }
    return found.map((m) => ({ ...provenance(m), text: m.text, meta: m.meta }))
  }
}

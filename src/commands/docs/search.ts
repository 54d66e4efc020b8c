import { Args, Flags } from '@oclif/core'
import { citation } from '../../plugins/memory/docs/passages.js'
import { MiradorCommand } from '../base.js'
import { oneLine } from '../memory/base.js'
import { docsSetup } from './base.js'

export default class DocsSearch extends MiradorCommand {
  static summary = 'Find the passages of your documents relevant to a text, with path:line-line citations.'
  static description =
    'The search `{{docs}}` and the search_docs tool use: vector similarity with the memory embedder, then a ' +
    'lexical (BM25) score over the candidates. Only passages at or above the memory similarity threshold are ' +
    'listed: when none is, nothing is relevant and the list is empty.'
  static examples = [
    '<%= config.bin %> docs search "how do I deploy"',
    '<%= config.bin %> docs search "tomato seedlings" --limit 10 --json',
  ]
  static args = {
    query: Args.string({ description: 'what to look for', required: true, ignoreStdin: true }),
  }
  static flags = {
    limit: Flags.integer({ char: 'k', description: 'How many passages at most.', default: 5, min: 1, max: 50 }),
  }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(DocsSearch)
    const docs = await docsSetup(flags.config as string | undefined)
    const found = await docs.search(args.query, { limit: flags.limit })
    if (!this.jsonEnabled()) {
      if (found.length === 0)
        this.log(
          (await docs.indexed())
            ? `Nothing relevant in your documents: no passage reaches the similarity threshold (${docs.threshold}).`
            : 'No documents are indexed: `mirador docs add PATH` adds a folder or a file.',
        )
      for (const p of found) {
        const heading = p.heading ? `  ${p.heading}` : ''
        this.log(`${citation(p)}  score ${p.score.toFixed(3)} (similarity ${p.similarity.toFixed(3)})${heading}`)
        this.log(`    ${oneLine(p.text, 100)}`)
      }
    }
    return found.map((p) => ({
      citation: citation(p),
      path: citation(p).replace(/:\d+-\d+$/, ''),
      start: p.start,
      end: p.end,
      heading: p.heading,
      score: Math.round(p.score * 1e4) / 1e4,
      similarity: Math.round(p.similarity * 1e4) / 1e4,
      text: p.text,
    }))
  }
}

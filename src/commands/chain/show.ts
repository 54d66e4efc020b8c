import path from 'node:path'
import { findChainFile } from '../../cli/chain-files.js'
import { loadChain } from '../../cli/chain-load.js'
import { chainDirs } from '../../cli/paths.js'
import { setup } from '../../cli/setup.js'
import { buildGraph } from '../../engine/chain.js'
import { MiradorCommand } from '../base.js'
import { Args } from '@oclif/core'

export default class ChainShow extends MiradorCommand {
  static summary = 'Show a chain: its stages, models, what waits for what, and what runs at once.'
  static examples = [
    '<%= config.bin %> chain show quick-deep',
    '<%= config.bin %> chain show ./chains/mine.yaml --json',
  ]
  static args = { chain: Args.string({ description: 'chain name or path to a chain file', required: true }) }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(ChainShow)
    const cwd = process.cwd()
    const { engine, home } = await setup({ cwd, ...(flags.config ? { config: flags.config as string } : {}) })
    const file = findChainFile(args.chain, chainDirs(cwd, home), cwd)
    const chain = await loadChain(file, engine.stageKeys())
    const graph = buildGraph(chain.value.stages)
    const stages = graph.order.map((name) => {
      const s = chain.value.stages[name]!
      const skip = graph.skips.get(name)
      return {
        stage: name,
        model: s.model,
        after: [...graph.deps.get(name)!],
        options: s.options ?? {},
        confidence: s.confidence ?? null,
        ...(skip
          ? {
              skip_when: {
                stage: skip.stage,
                confidence_above: skip.above,
                mode: skip.beforeStart ? 'before start' : 'cancel while running',
              },
            }
          : {}),
      }
    })
    const answer = chain.value.answer ?? Object.keys(chain.value.stages).reverse()
    if (!this.jsonEnabled()) {
      this.log(`${chain.name}  (${path.relative(cwd, file) || file})`)
      if (chain.value.description) this.log(chain.value.description)
      for (const s of stages) {
        const waits = s.after.length ? `after ${s.after.join(', ')}` : 'starts at once'
        const opts = Object.entries(s.options)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(' ')
        this.log(`  ${s.stage.padEnd(12)} ${s.model.padEnd(20)} ${waits}${opts ? `  ${opts}` : ''}`)
        if (s.skip_when) {
          const { stage, confidence_above, mode } = s.skip_when
          this.log(`  ${''.padEnd(12)} skipped when ${stage} confidence > ${confidence_above} (${mode})`)
        }
      }
      this.log(`answer: first of ${answer.join(', ')} that succeeds`)
    }
    return { name: chain.name, file, description: chain.value.description ?? null, stages, answer }
  }
}

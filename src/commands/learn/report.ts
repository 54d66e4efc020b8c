import { setup } from '../../cli/setup.js'
import { MiradorError } from '../../engine/errors.js'
import { rebuildWeights } from '../../plugins/learner/journal.js'
import { MiradorCommand } from '../base.js'

export default class LearnReport extends MiradorCommand {
  static summary = 'What Mirador learned: per query type, the chains, their weights, rating counts and the favourite.'
  static examples = ['<%= config.bin %> learn report', '<%= config.bin %> learn report --json']

  async run(): Promise<unknown> {
    const { flags } = await this.parse(LearnReport)
    const s = await setup({ ...(flags.config ? { config: flags.config as string } : {}) })
    if (!s.learner) throw new MiradorError('USAGE', 'the learner is turned off (builtins: { learner: false })')
    const entries = await s.learner.journal().read({ runs: false })
    const chains = await s.learner.chains()
    const learned = rebuildWeights(entries, () => undefined)
    const types = new Set<string>()
    for (const c of chains) for (const t of Object.keys(c.value.weights ?? {})) types.add(t)
    for (const per of Object.values(learned)) for (const t of Object.keys(per)) types.add(t)
    const report = [...types].sort().map((type) => {
      const rows = chains
        .map((c) => ({
          chain: c.name,
          weight: c.value.weights?.[type] ?? learned[c.name]?.[type]?.weight ?? null,
          ratings: learned[c.name]?.[type]?.count ?? 0,
        }))
        .filter((r) => r.weight !== null || r.ratings > 0)
      const favourite = [...rows].sort((a, b) => (b.weight ?? 0) - (a.weight ?? 0))[0]?.chain ?? null
      return { type, favourite, chains: rows }
    })
    if (!this.jsonEnabled()) {
      if (report.length === 0) this.log('Nothing learned yet: rate answers with `mirador rate --last RATING` (1 to 5).')
      for (const r of report) {
        this.log(`${r.type}  (favourite: ${r.favourite})`)
        for (const c of r.chains)
          this.log(
            `  ${c.chain.padEnd(20)} weight ${c.weight === null ? '—' : c.weight.toFixed(2)}  ${c.ratings} rating(s)`,
          )
      }
    }
    return report
  }
}

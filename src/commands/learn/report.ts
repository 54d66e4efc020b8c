import { setup } from '../../cli/setup.js'
import { MiradorError } from '../../engine/errors.js'
import { communityText } from '../../plugins/learner/bandit.js'
import { DEFAULT_TYPE } from '../../plugins/learner/classify.js'
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
    // the types the learner can classify a question as: a new member's community prior shows under them
    // before any rating
    for (const t of [DEFAULT_TYPE, ...Object.keys(s.learner.options.rules ?? {})]) types.add(t)
    const warn = (message: string) => this.logToStderr(`warning: ${message}`)
    const report = []
    for (const type of [...types].sort()) {
      const own = chains.map((c) => ({
        chain: c.name,
        weight: c.value.weights?.[type] ?? learned[c.name]?.[type]?.weight ?? null,
        ratings: learned[c.name]?.[type]?.count ?? 0,
      }))
      // the community prior (federation), as routing would weigh it against these ratings
      const priors = await s.learner.priors(
        type,
        own.map((r) => ({ chain: r.chain, count: r.ratings })),
        warn,
      )
      const rows = own
        .map((r) => {
          const p = priors.get(r.chain)
          return p ? { ...r, community: { share: p.share, weight: p.alpha + p.beta, source: p.source } } : r
        })
        .filter((r) => r.weight !== null || r.ratings > 0 || 'community' in r)
      if (rows.length === 0) continue
      // the user's own favourite: a chain the community alone speaks for is not one
      const weighed = rows.filter((r) => r.weight !== null)
      const favourite = weighed.sort((a, b) => (b.weight ?? 0) - (a.weight ?? 0))[0]?.chain ?? null
      report.push({ type, favourite, chains: rows })
    }
    if (!this.jsonEnabled()) {
      if (report.length === 0) this.log('Nothing learned yet: rate answers with `mirador rate --last RATING` (1 to 5).')
      for (const r of report) {
        this.log(`${r.type}  (${r.favourite ? `favourite: ${r.favourite}` : 'no favourite of yours yet'})`)
        for (const c of r.chains) {
          const community = 'community' in c ? `  ${communityText(c.community)}` : ''
          this.log(
            `  ${c.chain.padEnd(20)} weight ${c.weight === null ? '—' : c.weight.toFixed(2)}  ${c.ratings} rating(s)` +
              community,
          )
        }
      }
    }
    return report
  }
}

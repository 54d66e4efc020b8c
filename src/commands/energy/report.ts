import { setup } from '../../cli/setup.js'
import { readLog, summarize, type EnergyReport } from '../../plugins/energy/account.js'
import { Flags, MiradorCommand } from '../base.js'

function table(title: string, rows: EnergyReport['byProfile'], log: (s: string) => void): void {
  log(title)
  for (const r of rows) {
    const runs = `${String(r.runs).padStart(5)} run(s)`
    const joules = `${r.joules.toFixed(1).padStart(10)} J`
    const mean = `${r.mean.toFixed(1).padStart(8)} J/run`
    log(`  ${r.key.padEnd(20)} ${runs}  ${joules}  ${mean}  ${String(r.tokens).padStart(8)} tokens`)
  }
}

export default class EnergyReportCommand extends MiradorCommand {
  static summary = 'Energy used by runs (estimated): totals per profile, per chain and per day.'
  static description =
    'Sums $MIRADOR_HOME/energy/log.jsonl, where every run with memory on adds its estimated joules ' +
    '(model size × tokens; docs/energy.md says how). Runs with --no-memory or MIRADOR_MEMORY=off are not logged.'
  static examples = [
    '<%= config.bin %> energy report',
    '<%= config.bin %> energy report --days 7',
    '<%= config.bin %> energy report --json | jq .byProfile',
  ]
  static flags = {
    days: Flags.integer({ description: 'Only the last N days.', min: 1 }),
  }

  async run(): Promise<unknown> {
    const { flags } = await this.parse(EnergyReportCommand)
    const s = await setup({ ...(flags.config ? { config: flags.config as string } : {}) })
    let entries = await readLog(s.home)
    if (flags.days) {
      const since = Date.now() - flags.days * 86_400_000
      entries = entries.filter((e) => Date.parse(e.at) >= since)
    }
    const report = summarize(entries)
    if (!this.jsonEnabled()) {
      if (report.runs === 0) {
        this.log('No runs logged yet: runs with memory on add their energy estimate to $MIRADOR_HOME/energy/log.jsonl.')
      } else {
        this.log(`${report.runs} run(s), ${report.joules.toFixed(1)} J (${report.wh.toFixed(3)} Wh), estimated`)
        table('Per profile', report.byProfile, (l) => this.log(l))
        table('Per chain', report.byChain, (l) => this.log(l))
        table('Per day', report.byDay, (l) => this.log(l))
      }
    }
    return report
  }
}

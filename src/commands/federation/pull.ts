import { openRoundSession, stepLine, waitingLine } from '../../cli/federation/round-session.js'
import { pull } from '../../plugins/federation/round/index.js'
import { MiradorCommand } from '../base.js'

export default class FederationPull extends MiradorCommand {
  static summary = "Bring in the group's files, do your steps in open rounds, and update the community prior."
  static description =
    'Syncs the exchange, posts what you owe in open rounds (your masked bundle once the commit phase closed, your ' +
    'shares once the mask phase closed), closes phases that are due (everyone acted, or the deadline passed), ' +
    'opens a sum that can be opened, then verifies the newest result (recomputing its total and Merkle root) and ' +
    'writes it to $MIRADOR_HOME/federation/prior.json for the learner. Exit status 1 when that result does not ' +
    'verify (it is then not used).'
  static examples = ['<%= config.bin %> federation pull', '<%= config.bin %> federation pull --json']

  async run(): Promise<unknown> {
    await this.parse(FederationPull)
    const s = await openRoundSession((l) => this.logToStderr(l))
    try {
      const r = await pull(s.ctx)
      if (!this.jsonEnabled()) {
        for (const st of r.steps) this.log(stepLine(st))
        for (const w of r.waiting) this.log(waitingLine(w))
        for (const p of r.problems) this.log(`✗ ${p.file}: ${p.reason}: ${p.message}`)
        this.log(
          r.prior
            ? `✓ community prior: round ${r.prior.round}, ${r.prior.members} members, noise sd ${r.prior.noise.sd} ` +
                `(${r.priorFile})`
            : 'No opened round yet: no community prior.',
        )
      }
      if (r.problems.length) process.exitCode = 1
      return r
    } finally {
      await s.close()
    }
  }
}

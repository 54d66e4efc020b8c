import { Flags } from '@oclif/core'
import { askYesNo } from '../../cli/ask.js'
import { miradorHome } from '../../cli/paths.js'
import { MiradorError } from '../../engine/errors.js'
import { readMembership, type MembershipRecord } from '../../plugins/federation/membership.js'
import { federationPaths, removeLocalState } from '../../plugins/federation/paths.js'
import { MiradorCommand } from '../base.js'

export default class FederationLeave extends MiradorCommand {
  static summary = "Leave your federation group: delete this Mirador's federation state and keys."
  static description =
    'Deletes $MIRADOR_HOME/federation (membership, privacy budget ledger, community prior, round secrets, git ' +
    'exchange clones) and $MIRADOR_HOME/keys/federation (your member keys). Your entry stays in the shared group ' +
    'file and your past contributions stay on the exchange: to be removed from the group, delete your entry ' +
    '(`- id: YOUR_ID` and its two keys) from the group file. Asks first; --yes skips the question (needed when ' +
    'there is no terminal to ask on).'
  static examples = ['<%= config.bin %> federation leave', '<%= config.bin %> federation leave --yes --json']
  static flags = { yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation.' }) }

  async run(): Promise<unknown> {
    const { flags } = await this.parse(FederationLeave)
    const home = miradorHome()
    const p = federationPaths(home)
    // a damaged membership.json must not stop anyone from leaving
    const record: MembershipRecord | undefined = await readMembership(home).catch(() => undefined)
    const what = record ? `the group in ${record.groupFile} (as ${record.member})` : 'federation'
    if (!flags.yes) {
      const question = `Leave ${what}, deleting ${p.dir} and your keys in ${p.keys}? This cannot be undone.`
      if (!process.stdin.isTTY)
        throw new MiradorError('USAGE', `${question} Run again with --yes to confirm (no terminal to ask on).`)
      if (!(await askYesNo(`${question} [y/N] `))) throw new MiradorError('ABORTED', 'nothing was removed')
    }
    const removed = await removeLocalState(home)
    if (!this.jsonEnabled()) {
      if (!removed) this.log('This Mirador had no federation state: nothing was removed.')
      else this.log(`✓ removed ${p.dir} and ${p.keys}`)
      if (record)
        this.log(
          `  Your entry ${record.member} is still listed in ${record.groupFile} and the exchange is left as it is; ` +
            `to be removed from the group, delete its entry "- id: ${record.member}" and its two keys from that file.`,
        )
    }
    return {
      removed,
      ...(record ? { groupFile: record.groupFile, member: record.member } : {}),
      left: [p.dir, p.keys],
    }
  }
}

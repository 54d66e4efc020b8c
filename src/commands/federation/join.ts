import path from 'node:path'
import { Args } from '@oclif/core'
import { miradorHome } from '../../cli/paths.js'
import { loadGroupFile } from '../../plugins/federation/group.js'
import { loadOrCreateMemberKeys } from '../../plugins/federation/member-keys.js'
import { addMemberToGroupFile, writeMembership } from '../../plugins/federation/membership.js'
import { MiradorCommand } from '../base.js'
import { entryFor, idFlag, refuseSecondGroup } from './base.js'

export default class FederationJoin extends MiradorCommand {
  static summary = 'Join a federation group: your keys, your entry in its group file.'
  static description =
    'Checks the group file (a problem is reported at file:line:column), creates your federation keys, adds your ' +
    'entry (your member id and two public keys, nothing else) to the file, keeping its comments, and remembers ' +
    'that this Mirador is in the group. The file must be the one the others use (in a folder exchange, the one in ' +
    'the synced folder). Joining the same group again is safe: it adds your entry back if it was removed. ' +
    'One group per Mirador home: `mirador federation leave` first to join another.'
  static examples = [
    '<%= config.bin %> federation join ~/Sync/garden-club/garden-club.group.yaml',
    '<%= config.bin %> federation join garden-club.group.yaml --id ben --json',
  ]
  static args = {
    file: Args.string({ description: 'the group file (from `federation init`)', required: true, ignoreStdin: true }),
  }
  static flags = { id: idFlag }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(FederationJoin)
    const home = miradorHome()
    const file = path.resolve(args.file)
    const before = await refuseSecondGroup(home, file)
    const group = await loadGroupFile(file)
    const keys = await loadOrCreateMemberKeys(home)
    const entry = entryFor(keys, flags.id ?? before?.member)
    const added = await addMemberToGroupFile(file, entry)
    await writeMembership(home, { groupFile: file, member: entry.id })
    const members = (await loadGroupFile(file)).value.members.length
    if (!this.jsonEnabled()) {
      this.log(
        added
          ? `✓ joined the group ${group.group} as ${entry.id} (${members} members)`
          : `✓ ${group.group} lists you already, as ${entry.id} (${members} members)`,
      )
      this.log(`  group file: ${file}`)
    }
    return { groupFile: file, member: entry.id, group: group.group, added, members }
  }
}

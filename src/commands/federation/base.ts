/** What `federation init` and `join` share: the --id flag, one group per home, and becoming a member. */
import { Flags } from '@oclif/core'
import { MiradorError } from '../../engine/errors.js'
import type { MemberKeys } from '../../plugins/federation/member-keys.js'
import {
  MEMBER_ID,
  memberEntry,
  memberIdOf,
  readMembership,
  type MembershipRecord,
} from '../../plugins/federation/membership.js'

export const idFlag = Flags.string({
  description: 'Your member id in the group (default: m- and 8 hex digits of your signing key).',
  helpValue: 'NAME',
})

/** FEDERATION_MEMBERSHIP when this home is in a group already (other than `except`, the file being joined again). */
export async function refuseSecondGroup(home: string, except?: string): Promise<MembershipRecord | undefined> {
  const record = await readMembership(home)
  if (record && record.groupFile !== except)
    throw new MiradorError(
      'FEDERATION_MEMBERSHIP',
      `this Mirador is a member (${record.member}) of the group in ${record.groupFile} already, and a Mirador home ` +
        'belongs to one group for now: run `mirador federation leave` first',
      { details: { groupFile: record.groupFile, member: record.member } },
    )
  return record
}

/** USAGE unless `id` is a member id `--id` accepts. */
export function checkId(id: string): string {
  if (!MEMBER_ID.test(id))
    throw new MiradorError(
      'USAGE',
      `--id ${JSON.stringify(id)} is not a member id: use up to 64 lowercase letters, digits, '.', '_' and '-', ` +
        'starting with a letter or digit',
    )
  return id
}

/** This member's entry: the id given (`--id`, or the one it joined with before), else the one from its keys. */
export function entryFor(keys: MemberKeys, id: string | undefined) {
  return memberEntry(checkId(id ?? memberIdOf(keys)), keys)
}

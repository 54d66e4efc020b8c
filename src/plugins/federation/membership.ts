/**
 * Which federation group this Mirador home belongs to, and as whom: `federation/membership.json`
 * `{ v: 1, groupFile, member, joined }` (0600). The group file itself is shared: members join by
 * adding their entry to it, so it is re-read on every load. One group per home for now.
 */
import { createHash } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { isMap, isSeq, parseDocument, type YAMLMap, type YAMLSeq } from 'yaml'
import { MiradorError } from '../../engine/errors.js'
import { writeFileAtomic } from '../../lib/atomic-write.js'
import { ensurePrivateDir } from '../../lib/crypto.js'
import { withFileLock } from '../../lib/file-lock.js'
import { exchangeKind } from './exchange/index.js'
import { loadGroupFile, loadGroupText, type Group } from './group.js'
import { loadOrCreateMemberKeys, type MemberKeys } from './member-keys.js'
import { federationPaths } from './paths.js'
import { readTextIfExists } from '../../lib/read-if-exists.js'

export interface Membership {
  home: string
  groupFile: string
  member: string
  group: Group
  keys: MemberKeys
  /** the group's exchange as createExchange takes it (a relative folder resolved: see exchangeOf) */
  exchange: string
}

/** What membership.json holds. */
export interface MembershipRecord {
  v: 1
  /** absolute path of the shared group file */
  groupFile: string
  member: string
  joined: string
}

/** A member's entry in the group file. */
export interface MemberEntry {
  id: string
  signing_key: string
  agreement_key: string
}

/** what `--id` accepts (the group file's own pattern is wider: it also takes upper case) */
export const MEMBER_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/

const NOT_A_MEMBER =
  'this Mirador is not in a federation group; run `mirador federation init GROUP --exchange …` ' +
  'or `mirador federation join GROUP_FILE`'

const membershipError = (message: string, details?: Record<string, unknown>) =>
  new MiradorError('FEDERATION_MEMBERSHIP', message, details ? { details } : {})

/**
 * The group's exchange for createExchange. A relative folder in the group file is relative to the
 * group file's own folder (`exchange: .` when the file sits in the synced folder it names), so every
 * member's copy works wherever their sync tool puts it.
 */
export function exchangeOf(group: Pick<Group, 'file' | 'value'>): string {
  const url = group.value.exchange
  if (exchangeKind(url) !== 'folder') return url
  const dir = url.replace(/^dir:/, '')
  return path.isAbsolute(dir) ? dir : path.resolve(path.dirname(path.resolve(group.file)), dir)
}

/** The default member id: `m-` and the first 8 hex digits of sha256 of the raw Ed25519 public key. */
export function memberIdOf(keys: MemberKeys): string {
  const raw = Buffer.from(keys.signing.public, 'base64')
  return `m-${createHash('sha256').update(raw).digest('hex').slice(0, 8)}`
}

/** This member's entry as the group file lists it. */
export function memberEntry(id: string, keys: MemberKeys): MemberEntry {
  return { id, signing_key: keys.signing.public, agreement_key: keys.agreement.public }
}

/** membership.json, or undefined when this home is in no group. */
export async function readMembership(home: string): Promise<MembershipRecord | undefined> {
  const file = federationPaths(home).membership
  const text = await readTextIfExists(file)
  if (text === undefined) return undefined
  let v: Partial<MembershipRecord> | undefined
  try {
    v = JSON.parse(text) as Partial<MembershipRecord>
  } catch {
    v = undefined
  }
  if (v?.v !== 1 || typeof v.groupFile !== 'string' || typeof v.member !== 'string' || typeof v.joined !== 'string')
    throw membershipError(`${file} is damaged; run \`mirador federation leave --yes\`, then join the group again`, {
      file,
    })
  return v as MembershipRecord
}

/**
 * This home's membership: the record, the group file (re-read and checked each time) and this
 * member's keys, which must be the ones the group file lists for it. FEDERATION_MEMBERSHIP when this
 * home is in no group, or the group file no longer lists this member as itself.
 */
export async function loadMembership(home: string): Promise<Membership> {
  const record = await readMembership(home)
  if (!record) throw membershipError(NOT_A_MEMBER)
  const group = await loadGroupFile(record.groupFile)
  const keysDir = federationPaths(home).keys
  // new keys made here could never match the group file's entry: say what is wrong instead
  if (!(await stat(path.join(keysDir, 'signing.pem')).catch(() => undefined)))
    throw membershipError(
      `your federation keys (${keysDir}) are gone: restore them from a backup, or run ` +
        '`mirador federation leave --yes` and join again under another --id',
      { groupFile: record.groupFile, member: record.member },
    )
  const keys = await loadOrCreateMemberKeys(home)
  const listed = group.value.members.find((m) => m.id === record.member)
  if (!listed)
    throw membershipError(
      `${record.groupFile} does not list you (${record.member}) any more; ` +
        `run \`mirador federation join ${record.groupFile}\` to add yourself again`,
      { groupFile: record.groupFile, member: record.member },
    )
  if (listed.signing_key !== keys.signing.public || listed.agreement_key !== keys.agreement.public)
    throw membershipError(
      `${record.groupFile} lists ${record.member} with other keys than yours (${keysDir}): ` +
        'restore your keys, or run `mirador federation leave --yes` and join again with another --id',
      { groupFile: record.groupFile, member: record.member },
    )
  return { home, groupFile: record.groupFile, member: record.member, group, keys, exchange: exchangeOf(group) }
}

/** Writes membership.json (atomic, 0600, in a 0700 folder); `groupFile` is made absolute. */
export async function writeMembership(home: string, m: { groupFile: string; member: string }): Promise<void> {
  const p = federationPaths(home)
  await ensurePrivateDir(p.dir)
  const record: MembershipRecord = {
    v: 1,
    groupFile: path.resolve(m.groupFile),
    member: m.member,
    joined: new Date().toISOString(),
  }
  await writeFileAtomic(p.membership, `${JSON.stringify(record, null, 2)}\n`, 0o600)
}

/**
 * Adds `entry` to the group file's `members`, keeping its comments and layout (yaml Document API):
 * an atomic rewrite under a lock file beside it (dot-named, so an exchange folder ignores it), and
 * only when the result is still a valid group file. False (nothing written) when the file lists this
 * member already with the same keys; FEDERATION_MEMBERSHIP when its id, or its keys, are taken.
 */
export async function addMemberToGroupFile(file: string, entry: MemberEntry): Promise<boolean> {
  const lock = path.join(path.dirname(file), `.${path.basename(file)}.lock`)
  return withFileLock(
    lock,
    async () => {
      // the file is checked first, so a broken one is reported at file:line:column, not here
      await loadGroupFile(file)
      const text = await readFile(file, 'utf8')
      const doc = parseDocument(text, { keepSourceTokens: false })
      const members = doc.get('members', true) as YAMLSeq<YAMLMap> | undefined
      if (!isSeq(members)) throw new MiradorError('INTERNAL', `${file}: members is not a list after validation`)
      for (const item of members.items) {
        if (!isMap(item)) continue
        const id = item.get('id')
        const same = item.get('signing_key') === entry.signing_key && item.get('agreement_key') === entry.agreement_key
        if (id === entry.id && same) return false
        if (id === entry.id)
          throw membershipError(
            `${file}: the member id ${entry.id} is taken by other keys; choose another with --id NAME`,
            { file, member: entry.id },
          )
        if (item.get('signing_key') === entry.signing_key || item.get('agreement_key') === entry.agreement_key)
          throw membershipError(
            `${file}: your keys are listed already, as member ${String(id)}; join with --id ${String(id)}`,
            { file, member: id },
          )
      }
      members.add(doc.createNode({ ...entry }))
      const out = doc.toString()
      loadGroupText(out, file) // never write a file the others could not load
      const mode = (await stat(file)).mode & 0o777
      await writeFileAtomic(file, out, mode)
      return true
    },
    { what: `the group file ${file}` },
  )
}

/**
 * The file an approval is kept in (a project's plugins, plugin-approval.ts; a project's MCP servers,
 * mcp-approval.ts): `{ "version": 1, "approved": { KEY: "sha256:…" } }`, mode 0600, rewritten
 * atomically under a lock. One that cannot be parsed, or holds entries `valid` refuses, is damaged:
 * the message says what to do, and nothing is approved until it is fixed.
 */
import { readFile } from 'node:fs/promises'
import { MiradorError } from '../engine/errors.js'
import { writeFileAtomic } from '../lib/atomic-write.js'
import { withFileLock } from '../lib/file-lock.js'

export interface ApprovalsFileSpec {
  file: string
  /** what to do when the file is damaged ("approve your project plugins again (…)") */
  redo: string
  /** a stricter check of each entry than "a string" */
  valid?: (key: string, value: string) => boolean
}

interface ApprovalsContent {
  version: 1
  approved: Record<string, string>
}

export async function readApprovals({ file, redo, valid }: ApprovalsFileSpec): Promise<Record<string, string>> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw MiradorError.from(err, 'CONFIG_NOT_FOUND', `${file} cannot be read`)
  }
  let parsed: Partial<ApprovalsContent> | undefined
  try {
    parsed = JSON.parse(text) as Partial<ApprovalsContent>
  } catch {
    parsed = undefined
  }
  const approved = parsed?.approved
  const ok =
    parsed?.version === 1 &&
    approved !== null &&
    typeof approved === 'object' &&
    (!valid || Object.entries(approved).every(([k, v]) => typeof v === 'string' && valid(k, v)))
  if (!ok) {
    throw new MiradorError('CONFIG_INVALID', `${file} is damaged: remove it and ${redo}`, { details: { file } })
  }
  return { ...approved }
}

/** Reads, lets `change` add entries, writes back: under the file's lock, so two approvals both land. */
export async function recordApprovals(
  spec: ApprovalsFileSpec,
  change: (approved: Record<string, string>) => void,
): Promise<void> {
  await withFileLock(`${spec.file}.lock`, async () => {
    const approved = await readApprovals(spec)
    change(approved)
    const content: ApprovalsContent = { version: 1, approved }
    await writeFileAtomic(spec.file, `${JSON.stringify(content, null, 2)}\n`, 0o600)
  })
}

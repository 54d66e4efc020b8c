/**
 * An MCP server declared by a project's mirador.config.yaml starts only once the user has approved
 * it: a server is a program run with the user's privileges, and running Mirador inside a cloned
 * repository must not run the programs its config names (as project plugins must be approved,
 * plugin-approval.ts). An approval is the config file, the server's name and a hash of what would
 * run (command, args, env, cwd) in $MIRADOR_HOME/mcp/approved.json; a server whose command changed
 * is refused again. Servers of the user's own config need no approval.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { MiradorError } from '../engine/errors.js'
import { stableKey } from '../engine/stable-key.js'
import { writeFileAtomic } from '../lib/atomic-write.js'
import { withFileLock } from '../lib/file-lock.js'
import type { McpPluginOptions } from '../plugins/mcp/index.js'

type ServerSettings = NonNullable<McpPluginOptions['servers']>[string]

/** A server a project's config declares: the file, for the approval and the messages. */
export interface ProjectServer {
  file: string
  settings: ServerSettings
}

export function mcpApprovalsFile(home: string): string {
  return path.join(home, 'mcp', 'approved.json')
}

interface ApprovalsFile {
  version: 1
  /** "FILE#NAME" → "sha256:…" of what runs */
  approved: Record<string, string>
}

const keyOf = (name: string, s: ProjectServer) => `${s.file}#${name}`

function hashOf(s: ServerSettings): string {
  const what = { command: s.command, args: s.args ?? [], env: s.env ?? {}, cwd: s.cwd ?? null }
  return `sha256:${createHash('sha256').update(stableKey(what)).digest('hex')}`
}

async function readApprovals(home: string): Promise<Record<string, string>> {
  const file = mcpApprovalsFile(home)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw MiradorError.from(err, 'CONFIG_NOT_FOUND', `${file} cannot be read`)
  }
  try {
    const parsed = JSON.parse(text) as Partial<ApprovalsFile>
    if (parsed.version === 1 && parsed.approved && typeof parsed.approved === 'object') return { ...parsed.approved }
  } catch {
    // damaged: said below
  }
  throw new MiradorError(
    'CONFIG_INVALID',
    `${file} is damaged: remove it and approve your project's MCP servers again (mirador mcp approve)`,
  )
}

/** Records the servers, as they are declared now, as approved. */
export async function approveServers(home: string, servers: Map<string, ProjectServer>): Promise<void> {
  const file = mcpApprovalsFile(home)
  await withFileLock(`${file}.lock`, async () => {
    const approved = await readApprovals(home)
    for (const [name, s] of servers) approved[keyOf(name, s)] = hashOf(s.settings)
    const content: ApprovalsFile = { version: 1, approved }
    await writeFileAtomic(file, `${JSON.stringify(content, null, 2)}\n`, 0o600)
  })
}

export async function isApproved(home: string, name: string, s: ProjectServer): Promise<boolean> {
  return (await readApprovals(home))[keyOf(name, s)] === hashOf(s.settings)
}

/** The check run before a server starts (McpPlugin's `beforeStart`): the project's need approval. */
export function mcpApprovalGate(home: string, project: Map<string, ProjectServer>): (name: string) => Promise<void> {
  return async (name) => {
    const s = project.get(name)
    if (!s || (await isApproved(home, name, s))) return
    throw new MiradorError(
      'MCP_UNAPPROVED',
      `MCP server "${name}" is declared by the project's ${s.file} and not approved: it would run ` +
        `${[s.settings.command, ...(s.settings.args ?? [])].join(' ')} with your privileges. ` +
        `Read it, then run \`mirador mcp approve ${name}\``,
      { details: { server: name, file: s.file } },
    )
  }
}

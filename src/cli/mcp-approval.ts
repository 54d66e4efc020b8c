/**
 * An MCP server declared by a project's mirador.config.yaml starts only once the user has approved
 * it: a server is a program run with the user's privileges, and running Mirador inside a cloned
 * repository must not run the programs its config names (as project plugins must be approved,
 * plugin-approval.ts). An approval is the config file, the server's name and a hash of what would
 * run (command, args, env, cwd) in $MIRADOR_HOME/mcp/approved.json; a server whose command changed
 * is refused again. Servers of the user's own config need no approval.
 */
import { createHash } from 'node:crypto'
import path from 'node:path'
import { MiradorError } from '../engine/errors.js'
import { stableKey } from '../engine/stable-key.js'
import type { McpPluginOptions } from '../plugins/mcp/index.js'
import { readApprovals, recordApprovals, type ApprovalsFileSpec } from './approvals-file.js'

type ServerSettings = NonNullable<McpPluginOptions['servers']>[string]

/** A server a project's config declares: the file, for the approval and the messages. */
export interface ProjectServer {
  file: string
  settings: ServerSettings
}

export function mcpApprovalsFile(home: string): string {
  return path.join(home, 'mcp', 'approved.json')
}

/** `{ "version": 1, "approved": { "FILE#NAME": "sha256:…" of what runs } }` */
const approvals = (home: string): ApprovalsFileSpec => ({
  file: mcpApprovalsFile(home),
  redo: "approve your project's MCP servers again (mirador mcp approve)",
})

const keyOf = (name: string, s: ProjectServer) => `${s.file}#${name}`

function hashOf(s: ServerSettings): string {
  const what = { command: s.command, args: s.args ?? [], env: s.env ?? {}, cwd: s.cwd ?? null }
  return `sha256:${createHash('sha256').update(stableKey(what)).digest('hex')}`
}

/** Records the servers, as they are declared now, as approved. */
export async function approveServers(home: string, servers: Map<string, ProjectServer>): Promise<void> {
  await recordApprovals(approvals(home), (approved) => {
    for (const [name, s] of servers) approved[keyOf(name, s)] = hashOf(s.settings)
  })
}

export async function isApproved(home: string, name: string, s: ProjectServer): Promise<boolean> {
  return (await readApprovals(approvals(home)))[keyOf(name, s)] === hashOf(s.settings)
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

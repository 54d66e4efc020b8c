/**
 * The MCP part of `tools ls`: each configured server's tools with their origin. Listing a server's
 * tools means starting it (an MCP server says what it offers only when asked), so `--no-mcp` lists
 * the servers without starting them; the servers started are stopped before the command ends.
 */
import { MiradorError } from '../../engine/errors.js'
import { MCP_ORIGIN_NOTE, type McpPlugin } from '../../plugins/mcp/index.js'

export interface McpListing {
  name: string
  origin: string
  server: string
  command: string
  description?: string
  error?: { code: string; message: string }
}

export async function mcpListing(mcp: McpPlugin, start: boolean): Promise<McpListing[]> {
  const out: McpListing[] = []
  try {
    for (const server of mcp.serverNames()) {
      const base = { server, origin: `mcp:${server} (${MCP_ORIGIN_NOTE})`, command: mcp.server(server)!.commandLine }
      if (!start) {
        out.push({ name: `${server}-*`, ...base, description: 'not started (--no-mcp)' })
        continue
      }
      try {
        for (const t of await mcp.tools(server)) out.push({ name: t.name, ...base, description: t.description })
      } catch (err) {
        const e = MiradorError.from(err, 'TOOL_CRASH')
        out.push({ name: `${server}-*`, ...base, error: { code: e.code, message: e.message } })
      }
    }
  } finally {
    await mcp.close()
  }
  return out
}

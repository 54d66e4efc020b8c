import path from 'node:path'
import { setup } from '../../cli/setup.js'
import { toolDirs } from '../../cli/paths.js'
import { MiradorError } from '../../engine/errors.js'
import { clampLimits } from '../../plugins/tools/policy.js'
import { listToolFiles, loadTool } from '../../plugins/tools/registry.js'
import { Flags, MiradorCommand } from '../base.js'
import { mcpListing } from './mcp-listing.js'

export default class ToolsLs extends MiradorCommand {
  static summary = 'List the tools models can call.'
  static description =
    'Looks in ./tools, then $MIRADOR_HOME/tools, then the shipped tools; ' +
    'a tool in an earlier place hides one of the same name in a later place. ' +
    "Limits are shown as they apply: the tool's own, clamped to the policy in mirador.config.yaml. " +
    'Then the tools of the MCP servers in config (mcp: { servers: … }), named SERVER-TOOL, with their origin: ' +
    'each server is a separate process you configured, running with your privileges, not sandboxed by Mirador. ' +
    'Listing their tools starts those servers (and stops them after); --no-mcp lists the servers without starting them.'
  static examples = [
    '<%= config.bin %> tools ls',
    '<%= config.bin %> tools ls --json',
    '<%= config.bin %> tools ls --no-mcp   # do not start MCP servers',
  ]
  static flags = {
    mcp: Flags.boolean({
      description: 'Start the MCP servers in config to list their tools (--no-mcp: only name them).',
      default: true,
      allowNo: true,
    }),
  }

  async run(): Promise<unknown> {
    const { flags } = await this.parse(ToolsLs)
    const s = await setup({ ...(flags.config ? { config: flags.config as string } : {}) })
    const out = []
    for (const t of listToolFiles(toolDirs(s.cwd, s.home))) {
      try {
        const tool = await loadTool(t.file)
        out.push({
          name: tool.name,
          file: path.relative(s.cwd, t.file) || t.file,
          shadowed: t.shadowed,
          description: tool.description,
          capabilities: tool.capabilities,
          limits: s.tools ? clampLimits(tool.declaredLimits, s.tools.policy) : undefined,
        })
      } catch (err) {
        const e = MiradorError.from(err)
        out.push({ name: t.name, file: t.file, shadowed: t.shadowed, error: { code: e.code, message: e.format() } })
      }
    }
    const mcp = s.mcp ? await mcpListing(s.mcp, flags.mcp) : []
    if (!this.jsonEnabled()) {
      if (out.length + mcp.length === 0) this.log('No tools found.')
      for (const t of out) {
        if ('error' in t && t.error) this.log(`✗ ${t.name.padEnd(14)} ${t.error.code}: ${t.error.message}`)
        else if ('limits' in t) {
          const capabilities = t.capabilities?.length ? `  [${t.capabilities.join(', ')}]` : ''
          const limits = t.limits ? `  ${t.limits.timeoutMs} ms, ${t.limits.memoryMb} MB` : ''
          this.log(
            `${t.shadowed ? '·' : '•'} ${t.name.padEnd(14)} ${t.description?.split('\n')[0]}` +
              `${capabilities}${limits}${t.shadowed ? '  (shadowed)' : ''}`,
          )
        }
      }
      for (const t of mcp) {
        const what = t.error ? `✗ ${t.name.padEnd(14)} ${t.error.code}: ${t.error.message}` : `• ${t.name.padEnd(14)} `
        this.log(`${what}${t.error ? '' : `${t.description?.split('\n')[0] ?? ''}`}  [${t.origin}: ${t.command}]`)
      }
    }
    return [...out, ...mcp]
  }
}

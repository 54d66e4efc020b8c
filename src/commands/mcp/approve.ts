import path from 'node:path'
import { Args } from '@oclif/core'
import { approveServers, isApproved, type ProjectServer } from '../../cli/mcp-approval.js'
import { configFiles, miradorHome } from '../../cli/paths.js'
import { loadMergedConfig } from '../../cli/setup.js'
import { didYouMeanText } from '../../engine/config/index.js'
import { MiradorError } from '../../engine/errors.js'
import { MiradorCommand } from '../base.js'

export default class McpApprove extends MiradorCommand {
  static summary = "Approve MCP servers a project's config declares, as they are now, so that Mirador may start them."
  static description =
    "An MCP server is a program Mirador starts with your privileges. One that a project's mirador.config.yaml " +
    'declares (mcp: { servers: … }) starts only once you approve it: a cloned repository must not run ' +
    'programs because you ran Mirador in it. Read what it runs first (shown here). Approving records the config ' +
    'file, the name and a sha256 of the command, args, env and cwd in $MIRADOR_HOME/mcp/approved.json; when ' +
    'any of them changes, it must be approved again. Servers of your own $MIRADOR_HOME/config.yaml need no ' +
    "approval. Without NAME, every server of the project's config."
  static examples = ['<%= config.bin %> mcp approve files', '<%= config.bin %> mcp approve']
  static args = {
    name: Args.string({ description: "the server's name in mcp.servers (default: all of the project's)" }),
  }

  async run(): Promise<{ name: string; file: string; command: string[]; approved: boolean }[]> {
    const { args, flags } = await this.parse(McpApprove)
    const home = miradorHome(process.env)
    const files = configFiles(process.cwd(), home, flags.config as string | undefined, process.env)
    const { mcpProject } = await loadMergedConfig(files, path.join(home, 'config.yaml'))
    let chosen: Map<string, ProjectServer> = mcpProject
    if (args.name !== undefined) {
      const s = mcpProject.get(args.name)
      if (!s)
        throw new MiradorError(
          'USAGE',
          `no MCP server "${args.name}" in the project's config needs approval` +
            (mcpProject.size ? ` (it declares ${[...mcpProject.keys()].join(', ')})` : '') +
            `.${didYouMeanText(args.name, [...mcpProject.keys()])}`,
        )
      chosen = new Map([[args.name, s]])
    }
    const before = await Promise.all([...chosen].map(async ([name, s]) => [name, await isApproved(home, name, s)]))
    await approveServers(home, chosen)
    const out = [...chosen].map(([name, s], i) => ({
      name,
      file: s.file,
      command: [s.settings.command, ...(s.settings.args ?? [])],
      approved: !before[i]![1],
    }))
    if (!this.jsonEnabled()) {
      if (out.length === 0) this.log("The project's config declares no MCP server: nothing to approve.")
      for (const o of out)
        this.log(`✓ ${o.approved ? 'approved' : 'already approved'} ${o.name} (${o.file}): ${o.command.join(' ')}`)
    }
    return out
  }
}

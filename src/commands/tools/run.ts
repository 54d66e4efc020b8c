import { Args, Flags } from '@oclif/core'
import { safeText } from '../../cli/render/format.js'
import { setup } from '../../cli/setup.js'
import { didYouMeanText } from '../../engine/config/index.js'
import { MiradorError } from '../../engine/errors.js'
import type { ToolResult } from '../../engine/types.js'
import type { McpPlugin } from '../../plugins/mcp/index.js'
import { MiradorCommand } from '../base.js'

export default class ToolsRun extends MiradorCommand {
  static summary = 'Run a tool once, in its sandbox, with the arguments given as JSON.'
  static description =
    "What a model's tool call would do: the arguments are checked against the tool's parameters, " +
    'then the tool runs in a fresh isolate in a sandbox process with its limits. ' +
    'Looks in ./tools first, like chains. A name SERVER-TOOL runs a tool of an MCP server in your config ' +
    '(started for the call, stopped after). ' +
    'The result is printed with control characters escaped (tool output is untrusted).'
  static examples = [
    '<%= config.bin %> tools run calculate --args \'{"expression":"2^10 / 4"}\'',
    '<%= config.bin %> tools run search_docs --args \'{"query":"dentist"}\' --json',
    '<%= config.bin %> tools run files-read_text_file --args \'{"path":"notes.md"}\'   # an MCP server\'s tool',
  ]
  static args = { name: Args.string({ description: 'the tool name', required: true }) }
  static flags = {
    args: Flags.string({ description: 'the arguments, a JSON object', default: '{}', helpValue: 'JSON' }),
  }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(ToolsRun)
    let input: unknown
    try {
      input = JSON.parse(flags.args)
    } catch (err) {
      throw new MiradorError('USAGE', `--args is not JSON: ${err instanceof Error ? err.message : String(err)}`)
    }
    const s = await setup({ ...(flags.config ? { config: flags.config as string } : {}) })
    if (!s.tools)
      throw new MiradorError(
        'USAGE',
        'the tools plugin is turned off (builtins: { tools: false } in mirador.config.yaml)',
      )
    try {
      const { tools, errors } = await s.tools.tools()
      const tool = tools.get(args.name)
      // SERVER-TOOL: a tool of an MCP server in config (started for this call, stopped after)
      if (!tool && s.mcp && args.name.includes('-')) return this.#show(await runMcpTool(s.mcp, args.name, input))
      if (!tool) {
        const broken = errors.find((e) => e.location?.file.includes(`${args.name}.y`))
        throw (
          broken ??
          new MiradorError(
            'TOOL_NOT_FOUND',
            `no tool named "${args.name}".${didYouMeanText(args.name, [...tools.keys()])} See \`mirador tools ls\`.`,
          )
        )
      }
      return this.#show(await s.tools.run(tool, input))
    } finally {
      await s.tools.close()
    }
  }

  #show(result: ToolResult): ToolResult {
    if (!this.jsonEnabled()) {
      if (result.ok) this.log(safeText(JSON.stringify(result.value, null, 2) ?? 'null'))
      else this.logToStderr(`✗ ${result.code}: ${safeText(result.error)}`)
      this.logToStderr(`(${result.ms} ms)`)
    }
    if (!result.ok) process.exitCode = 1
    return result
  }
}

async function runMcpTool(mcp: McpPlugin, name: string, input: unknown): Promise<ToolResult> {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new MiradorError('USAGE', '--args must be a JSON object for an MCP tool')
  try {
    return await mcp.call(name, input as Record<string, unknown>)
  } finally {
    await mcp.close()
  }
}

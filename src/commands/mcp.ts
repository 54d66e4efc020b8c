import { MiradorCommand } from './base.js'

export default class Mcp extends MiradorCommand {
  static summary = "Serve Mirador's tools and memory search to MCP clients (Model Context Protocol, over stdio)."
  static description =
    'For MCP clients (desktop assistants, editors) that start a server as a command: each of your tools ' +
    '(as `mirador tools ls` lists them) is an MCP tool with its own parameters, and every call runs in its ' +
    'isolated-vm sandbox exactly as `mirador tools run` runs it; `memory_search` finds memories and passages of ' +
    'your indexed documents (it says so when memory is off). Standard output carries only the protocol; ' +
    'messages go to standard error. It stops when the client closes its standard input; a memory server it ' +
    'started stops after its idle timeout, as after any command. See docs/tools.md. ' +
    "(Chains use MCP servers' tools through `mcp:` in config; `mirador mcp approve` lets a project's start.)"
  static examples = [
    '<%= config.bin %> mcp',
    '# in an MCP client\'s config: { "command": "mirador", "args": ["mcp"] }',
    '<%= config.bin %> mcp --config ~/work/mirador.config.yaml',
  ]
  // the protocol is JSON already; nothing else may reach standard output
  static enableJsonFlag = false

  async run(): Promise<void> {
    const { flags } = await this.parse(Mcp)
    const { serveMcp } = await import('../cli/mcp-server.js')
    await serveMcp({ ...(flags.config ? { config: flags.config as string } : {}), version: this.config.version })
  }
}

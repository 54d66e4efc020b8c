/**
 * `mirador mcp`: Mirador's tools and memory search as a Model Context Protocol server on standard
 * input and output. Each tools/*.yaml tool is listed with its own JSON Schema parameters and runs
 * exactly as `mirador tools run` runs it (arguments checked by the tools plugin, the call in an
 * isolated-vm sandbox with its limits); `memory_search` answers what `mirador memory search` and the
 * `docs.search` capability find. The SDK's low-level Server is used rather than McpServer because
 * the tools' parameters already are JSON Schemas, checked by Mirador with RE2 patterns: converting
 * them to zod and back would lose keywords. Standard output carries only the protocol.
 */
import { MiradorError } from '../engine/errors.js'
import type { ToolResult } from '../engine/types.js'
import { setup, type Setup } from './setup.js'

export const MEMORY_SEARCH = 'memory_search'
const MAX_LIMIT = 20

const memorySearchTool = {
  name: MEMORY_SEARCH,
  description:
    "Search the user's Mirador memory: what they said in earlier conversations, and passages of the " +
    'documents they indexed (with path:line citations). Use it when a question refers to something the user ' +
    'told Mirador or wrote down.',
  inputSchema: {
    type: 'object' as const,
    properties: {
      query: { type: 'string', minLength: 1, maxLength: 2000, description: 'What to look for, in a few words.' },
      limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 5, description: 'Results of each kind.' },
    },
    required: ['query'],
    additionalProperties: false,
  },
}

type Content = { content: { type: 'text'; text: string }[]; isError?: boolean }

const text = (value: unknown, isError = false): Content => ({
  content: [{ type: 'text', text: typeof value === 'string' ? value : (JSON.stringify(value, null, 1) ?? 'null') }],
  ...(isError ? { isError: true } : {}),
})

/** A tool's failure as MCP wants it: a result the model can read, with Mirador's code first. */
const resultOf = (r: ToolResult): Content => (r.ok ? text(r.value) : text(`${r.code}: ${r.error}`, true))

async function memorySearch(s: Setup, args: Record<string, unknown>): Promise<Content> {
  if (!s.memory)
    return text('USAGE: the memory plugin is turned off (builtins: { memory: false } in mirador.config.yaml)', true)
  if (!s.engine.settings.memory)
    return text(
      'USAGE: memory is off (MIRADOR_MEMORY=off, or memory: off in mirador.config.yaml): nothing is kept',
      true,
    )
  const { query, limit = 5 } = args
  if (typeof query !== 'string' || query.length === 0 || query.length > 2000)
    return text('TOOL_INVALID: memory_search needs { query: a string of 1 to 2000 characters, limit?: 1 to 20 }', true)
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    return text(`TOOL_INVALID: limit must be a whole number from 1 to ${MAX_LIMIT}`, true)
  const docs = s.engine.capability('docs.search')
  const [memories, passages] = await Promise.all([
    s.memory.searchRelevant(query, { limit }),
    docs ? docs({ query, k: limit }) : Promise.resolve(undefined),
  ])
  return text({
    memories: memories.map((m) => ({ id: m.id, text: m.text, at: new Date(m.meta.createdAt).toISOString() })),
    documents: passages ?? { indexed: false, results: [] },
  })
}

/** Serves until standard input closes; then stops the tool sandboxes and the engine. */
export async function serveMcp(options: { config?: string; version: string }): Promise<void> {
  // the SDK takes about as long to load as the rest of Mirador: both at once
  const [s, { Server }, { StdioServerTransport }, types] = await Promise.all([
    setup(options.config ? { config: options.config } : {}),
    import('@modelcontextprotocol/sdk/server/index.js'),
    import('@modelcontextprotocol/sdk/server/stdio.js'),
    import('@modelcontextprotocol/sdk/types.js'),
  ])
  if (!s.tools)
    throw new MiradorError(
      'USAGE',
      'the tools plugin is turned off (builtins: { tools: false } in mirador.config.yaml)',
    )
  const tools = s.tools
  // loaded while the client says hello: its first question is the tool list
  tools.tools().catch(() => {})
  const server = new Server({ name: 'mirador', version: options.version }, { capabilities: { tools: {} } })
  server.setRequestHandler(types.ListToolsRequestSchema, async () => {
    const loaded = [...(await tools.tools()).tools.values()].map((t) => ({
      name: t.name,
      description: t.description,
      inputSchema: { ...t.parameters, type: 'object' as const },
    }))
    return { tools: s.memory ? [...loaded, memorySearchTool] : loaded }
  })
  server.setRequestHandler(types.CallToolRequestSchema, async (request) => {
    const { name, arguments: args = {} } = request.params
    if (name === MEMORY_SEARCH && s.memory) return memorySearch(s, args)
    const tool = (await tools.tools()).tools.get(name)
    if (!tool)
      throw new types.McpError(types.ErrorCode.InvalidParams, `TOOL_NOT_FOUND: no tool named "${name}" (tools/list)`)
    return resultOf(await tools.run(tool, args))
  })
  const transport = new StdioServerTransport()
  const ended = new Promise<void>((resolve) => {
    process.stdin.once('end', resolve)
    process.stdin.once('close', resolve)
    transport.onclose = resolve
  })
  await server.connect(transport)
  await ended
  await server.close().catch(() => {})
  await tools.close().catch(() => {})
  await s.engine.dispose().catch(() => {})
}

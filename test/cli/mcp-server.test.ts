/**
 * `mirador mcp` as an MCP client meets it: the SDK's Client with StdioClientTransport spawns the
 * built CLI, lists the tools, calls a shipped tool (in its sandbox) and memory_search, and gets
 * errors back as MCP errors.
 */
import { afterAll, afterEach, describe, expect, it } from '@jest/globals'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { stopChromaServer } from '../../src/plugins/memory/chroma/server.js'
import { BIN, makeProject, runCli } from '../support/cli.js'

let open: { client: Client; transport: StdioClientTransport }[] = []
const homes: string[] = []
afterAll(async () => {
  for (const h of homes) await stopChromaServer(h)
})
afterEach(async () => {
  await Promise.all(open.map((o) => o.client.close().catch(() => {})))
  open = []
})

async function connect(env: Record<string, string>, project: Record<string, string> | { dir: string; home: string }) {
  const p = 'dir' in project && typeof project.dir === 'string' && 'home' in project ? project : makeProject(project)
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--no-node-snapshot', BIN, 'mcp'],
    cwd: p.dir,
    env: { PATH: process.env.PATH ?? '', HOME: p.dir, MIRADOR_HOME: p.home, NO_COLOR: '1', ...env },
    stderr: 'pipe',
  })
  let stderr = ''
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
  const client = new Client({ name: 'mirador-test', version: '1' })
  await client.connect(transport)
  open.push({ client, transport })
  return { client, transport, p, stderr: () => stderr }
}

const textOf = (r: object) => (r as { content: { type: string; text: string }[] }).content[0]!.text

describe('mirador mcp', () => {
  it('lists the tools with their schemas and runs a shipped tool in its sandbox', async () => {
    const { client } = await connect(
      { MIRADOR_MEMORY: 'off' },
      {
        'tools/shout.yaml':
          'name: shout\ndescription: Upper-cases text.\n' +
          'parameters: { type: object, properties: { text: { type: string, pattern: "^[a-z ]+$" } }, ' +
          'required: [text], additionalProperties: false }\nsource: shout.mjs\n',
        'tools/shout.mjs': 'export default ({ text }) => ({ loud: text.toUpperCase() })\n',
      },
    )
    const { tools } = await client.listTools()
    const names = tools.map((t) => t.name)
    expect(names).toEqual(
      expect.arrayContaining(['calculate', 'search_memory', 'search_docs', 'memory_search', 'shout']),
    )
    expect(tools.find((t) => t.name === 'shout')!.inputSchema).toEqual({
      type: 'object',
      properties: { text: { type: 'string', pattern: '^[a-z ]+$' } },
      required: ['text'],
      additionalProperties: false,
    })
    const calc = await client.callTool({ name: 'calculate', arguments: { expression: '2^10 / 4' } })
    expect(calc.isError).toBeUndefined()
    expect(JSON.parse(textOf(calc))).toMatchObject({ result: 256 })
    const loud = await client.callTool({ name: 'shout', arguments: { text: 'hello' } })
    expect(JSON.parse(textOf(loud))).toEqual({ loud: 'HELLO' })
  })

  it("errors come back as MCP errors: the tool's (isError, with its code) and the protocol's", async () => {
    const { client, stderr } = await connect(
      { MIRADOR_MEMORY: 'off' },
      {
        'tools/loop.yaml':
          'name: loop\ndescription: Never ends.\nparameters: { type: object }\nsource: loop.mjs\n' +
          'limits: { timeout_ms: 200 }\n',
        'tools/loop.mjs': 'export default () => { for (;;) {} }\n',
      },
    )
    const bad = await client.callTool({ name: 'calculate', arguments: { nope: 1 } })
    expect(bad.isError).toBe(true)
    expect(textOf(bad)).toMatch(/^TOOL_INVALID: the arguments do not match calculate's parameters/)
    const slow = await client.callTool({ name: 'loop', arguments: {} })
    expect(slow.isError).toBe(true)
    expect(textOf(slow)).toMatch(/^TOOL_TIMEOUT: /)
    await expect(client.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('TOOL_NOT_FOUND: no tool named "no_such_tool"'),
    })
    // memory off: memory_search says so
    const mem = await client.callTool({ name: 'memory_search', arguments: { query: 'birthday' } })
    expect(mem.isError).toBe(true)
    expect(textOf(mem)).toMatch(/memory is off/)
    // the server is still up after all of that
    expect((await client.listTools()).tools.length).toBeGreaterThan(3)
    expect(stderr()).not.toMatch(/at .*\.js:\d+/) // no stack trace
  })

  it('memory_search finds what memory search finds, and the server leaves when its stdin closes', async () => {
    const p = makeProject({ 'notes.jsonl': '{"text":"My dentist is Dr Rivera on Elm Street"}\n' })
    homes.push(p.home)
    const env = { MIRADOR_HOME: p.home, MIRADOR_MEMORY: 'on' }
    expect((await runCli(['memory', 'import', 'notes.jsonl'], { cwd: p.dir, env, timeoutMs: 60000 })).code).toBe(0)
    const { client, transport } = await connect(env, p)
    const found = await client.callTool({ name: 'memory_search', arguments: { query: 'Who is my dentist?', limit: 3 } })
    expect(found.isError).toBeUndefined()
    const answer = JSON.parse(textOf(found)) as { memories: { text: string }[]; documents: unknown }
    expect(answer.memories[0]!.text).toContain('Dr Rivera')
    expect(answer.documents).toEqual({ indexed: false, results: [] })
    const pid = transport.pid!
    // the SDK ends the server's stdin, then sends SIGTERM after 2 s: Mirador must leave before that
    const t0 = performance.now()
    await client.close()
    expect(performance.now() - t0).toBeLessThan(2000)
    expect(() => process.kill(pid, 0)).toThrow()
  }, 90000)
})

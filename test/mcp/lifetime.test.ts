/**
 * When the MCP plugin's servers run: started by the first run that offers one of their tools,
 * shared by runs going on at once, and stopped once no run in progress holds them (the real
 * fixture server, the real engine and its runner, scripted models).
 */
import { afterEach, describe, expect, it } from '@jest/globals'
// loaded here first: jest's ESM loader does not resolve the SDK's zod/v4 when the plugin imports it lazily
import '@modelcontextprotocol/sdk/client/index.js'
import '@modelcontextprotocol/sdk/client/stdio.js'
import path from 'node:path'
import { Engine } from '../../src/engine/engine.js'
import type { ChainFile } from '../../src/engine/config/index.js'
import { McpPlugin } from '../../src/plugins/mcp/index.js'
import type { LooseEvent } from '../support/events.js'
import { ROOT } from '../support/cli.js'
import { scriptedModels } from '../support/scripted-model.js'

const ECHO = path.join(ROOT, 'test', 'fixtures', 'mcp', 'echo-server.mjs')
let mcp: McpPlugin | undefined
afterEach(async () => {
  await mcp?.close()
})

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function setup() {
  const engine = new Engine({ cwd: process.cwd(), home: '/nonexistent', offline: true, memory: false, config: {} })
  const models = scriptedModels({
    slow: { tokens: [' slept'], callTools: [{ name: 'echo-slow', arguments: { ms: 600 } }] },
    quick: { tokens: [' said'], callTools: [{ name: 'echo-shout', arguments: { text: 'hey' } }] },
  })
  engine.use(models.plugin)
  mcp = new McpPlugin({ servers: { echo: { command: process.execPath, args: [ECHO] } } })
  engine.use(mcp)
  const events: LooseEvent[] = []
  engine.hooks.event.tap('Collect', (e) => void events.push(e as LooseEvent))
  const run = (model: string, tool: string) => {
    const chain = { stages: { s: { model, prompt: 'q', tools: [tool] } } } as ChainFile
    return engine.run({ chain: { name: model, value: chain }, query: 'q' })
  }
  return { engine, run, events, mcp }
}

describe('MCP servers over runs', () => {
  it('runs at once share a server; it stops when the last of them ends, and the next run starts it again', async () => {
    const { run, events, mcp } = setup()
    const slow = run('slow', 'echo-slow')
    // the quick run starts after the slow one has the server
    for (let i = 0; i < 500 && mcp.server('echo')!.pid === null; i++) await new Promise((r) => setTimeout(r, 10))
    const pid = mcp.server('echo')!.pid!
    const quick = await run('quick', 'echo-shout')
    expect(events.filter((e) => e.type === 'error')).toEqual([])
    expect(quick.ok).toBe(true)
    // the slow run still holds the server (its call is in progress)
    expect(mcp.server('echo')!.pid).toBe(pid)
    expect(alive(pid)).toBe(true)
    expect((await slow).ok).toBe(true)
    expect(mcp.server('echo')!.pid).toBeNull()
    expect(alive(pid)).toBe(false)
    expect(events.filter((e) => e.type === 'tool-result').map((e) => [e.name, e.ok, e.value])).toEqual([
      ['echo-shout', true, 'HEY'],
      ['echo-slow', true, 'slept 600 ms'],
    ])
    // the tool list is kept: the next run's offer needs no server, its call starts one
    const again = await run('quick', 'echo-shout')
    expect(again.ok).toBe(true)
    expect(events.filter((e) => e.type === 'tool-result')).toHaveLength(3)
    expect(mcp.server('echo')!.pid).toBeNull()
  })
})

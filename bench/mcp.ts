/**
 * MCP tool call round trip: the shipped calculate tool called through MCP (the MCP plugin's client,
 * the way a chain's `toolCall` reaches an MCP server, to `mirador mcp`, which runs it in its
 * sandbox) against the same call made in process (the tools plugin's warm sandbox pool), and the
 * protocol alone (the fixture echo server, no sandbox behind it). Medians of `runs` warm calls each
 * (after a warm-up), interleaved, and the server's cold start (spawn to its tool list).
 *
 *   BENCH_ONLY=mcp npm run bench
 */
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { McpPlugin } from '../src/plugins/mcp/index.js'
import { loadTool, ToolsPlugin } from '../src/plugins/tools/index.js'
import { median } from './lib.js'

export interface McpBench {
  /** calculate through MCP to `mirador mcp` and its sandbox */
  mcpP50: number
  /** calculate in process, warm pool */
  inProcessP50: number
  /** echo-shout on the fixture server: MCP's own cost */
  echoP50: number
  /** `mirador mcp` from spawn to its tool list */
  startMs: number
  runs: number
}

/** calls before timing: the workers' and the servers' code gets compiled by then */
const WARMUP = 20

/**
 * Times the calls interleaved, one of each per round, so that a busy moment of a shared machine
 * falls on all of them alike.
 */
async function timeInterleaved(runs: number, calls: (() => Promise<{ ok: boolean }>)[]): Promise<number[][]> {
  const out: number[][] = calls.map(() => [])
  for (let i = 0; i < WARMUP + runs; i++) {
    for (const [j, call] of calls.entries()) {
      const t0 = performance.now()
      const r = await call()
      if (i >= WARMUP) out[j]!.push(performance.now() - t0)
      if (!r.ok) throw new Error(`bench mcp: a call failed: ${JSON.stringify(r)}`)
    }
  }
  return out
}

export async function benchMcp(root: string, runs: number): Promise<McpBench> {
  const bin = path.join(root, 'bin', 'run.js')
  const home = mkdtempSync(path.join(os.tmpdir(), 'mirador-bench-mcp-'))
  const args = { expression: '2^10 + sqrt(16) * (3 - 1) - cos(pi) / 4' }
  const mcp = new McpPlugin({
    servers: {
      mirador: {
        command: process.execPath,
        args: ['--no-node-snapshot', bin, 'mcp'],
        env: { MIRADOR_HOME: home, MIRADOR_MEMORY: 'off' },
      },
      echo: { command: process.execPath, args: [path.join(root, 'test', 'fixtures', 'mcp', 'echo-server.mjs')] },
    },
  })
  const tools = new ToolsPlugin({ pool_size: 1 })
  try {
    const t0 = performance.now()
    await mcp.tools('mirador')
    const startMs = performance.now() - t0
    const calculate = await loadTool(path.join(root, 'tools', 'calculate.yaml'))
    const [viaMcp, inProcess, echo] = await timeInterleaved(runs, [
      () => mcp.call('mirador-calculate', args),
      () => tools.run(calculate, args),
      () => mcp.call('echo-shout', { text: 'round trip' }),
    ])
    return {
      mcpP50: median(viaMcp!),
      inProcessP50: median(inProcess!),
      echoP50: median(echo!),
      startMs,
      runs,
    }
  } finally {
    await mcp.close()
    await tools.close()
  }
}

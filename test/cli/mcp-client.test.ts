/**
 * Chains using tools of an MCP server declared in a project's config: a real server process (the
 * fixture, written with the SDK), the real CLI, and the Ollama test double whose model calls the
 * tool (`CALL echo-shout {…}` in the query). The server's pid file tells whether it is gone.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { LooseEvent as RunEvent } from '../support/events.js'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, ROOT, runCli } from '../support/cli.js'

const ECHO = path.join(ROOT, 'test', 'fixtures', 'mcp', 'echo-server.mjs')

let server: OllamaTestServer
beforeAll(async () => {
  server = await startOllamaTestServer()
})
afterAll(async () => {
  await server.close()
})

const CHAIN =
  'stages:\n  answer:\n    model: "llama3.2:1b"\n    prompt: "{{query}}"\n' +
  '    tools: [echo-shout, echo-slow, echo-big, echo-crash, calculate]\n'

/**
 * A project whose config declares the echo server, which writes its pid to `pidFile`; approved
 * (`mirador mcp approve echo`) unless `approve: false`.
 */
async function project(more: { serverYaml?: string; env?: string; approve?: boolean } = {}) {
  const p = makeProject({ 'chains/echo.yaml': CHAIN })
  const pidFile = path.join(p.dir, 'echo.pid')
  // a server gets only the environment its config gives (and PATH, HOME, …), so the pid file is set there
  writeFileSync(
    path.join(p.dir, 'mirador.config.yaml'),
    `mcp:\n  servers:\n    echo:\n      command: ${JSON.stringify(process.execPath)}\n` +
      `      args: [${JSON.stringify(ECHO)}]\n` +
      `      env: { ECHO_PID_FILE: ${JSON.stringify(pidFile)}${more.env ?? ''} }\n${more.serverYaml ?? ''}`,
  )
  const env = { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url }
  if (more.approve !== false) expect((await runCli(['mcp', 'approve', 'echo'], { cwd: p.dir, env })).code).toBe(0)
  return { ...p, pidFile, env }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const of = (events: RunEvent[], type: string) => events.filter((e) => e.type === type)

describe('MCP servers in config', () => {
  it('tools ls lists their tools with the origin; --no-mcp does not start them', async () => {
    const p = await project()
    const none = await runCli(['tools', 'ls', '--no-mcp', '--json'], { cwd: p.dir, env: p.env })
    expect(none.code).toBe(0)
    expect(existsSync(p.pidFile)).toBe(false)
    expect(JSON.parse(none.stdout)).toContainEqual(expect.objectContaining({ name: 'echo-*', server: 'echo' }))

    const ls = await runCli(['tools', 'ls', '--json'], { cwd: p.dir, env: p.env })
    expect(ls.code).toBe(0)
    const tools = JSON.parse(ls.stdout) as { name: string; origin?: string; command?: string }[]
    expect(tools.find((t) => t.name === 'calculate')).toBeDefined()
    expect(tools.find((t) => t.name === 'echo-shout')).toMatchObject({
      origin: 'mcp:echo (separate process you configured)',
      command: expect.stringContaining('echo-server.mjs'),
      description: 'Says the text back in capitals.',
    })
    // listing started the server, and it was stopped before the command ended
    const pid = Number(readFileSync(p.pidFile, 'utf8'))
    expect(alive(pid)).toBe(false)
    const text = await runCli(['tools', 'ls'], { cwd: p.dir, env: p.env })
    expect(text.stdout).toMatch(/• echo-shout +Says the text back in capitals\. +\[mcp:echo \(separate process/)
    // tools run calls one too, as a model would, and stops the server after
    const run = await runCli(['tools', 'run', 'echo-shout', '--args', '{"text":"hi"}'], { cwd: p.dir, env: p.env })
    expect(run.code).toBe(0)
    expect(run.stdout.trim()).toBe('"HI"')
    const failed = await runCli(['tools', 'run', 'echo-fail'], { cwd: p.dir, env: p.env })
    expect(failed.code).toBe(1)
    expect(failed.stderr).toContain('✗ TOOL_FAILED: the echo chamber is closed')
    expect(alive(Number(readFileSync(p.pidFile, 'utf8')))).toBe(false)
  })

  it("a model calls an MCP tool: events, the answer, and the server's process gone", async () => {
    const p = await project()
    const r = await runCli(['chain', 'run', 'echo', 'CALL echo-shout {"text":"hello there"}', '--json'], {
      cwd: p.dir,
      env: p.env,
    })
    expect(r.code).toBe(0)
    expect(of(r.events, 'error')).toEqual([])
    expect(of(r.events, 'tool-call')).toEqual([
      expect.objectContaining({ name: 'echo-shout', arguments: { text: 'hello there' } }),
    ])
    expect(of(r.events, 'tool-result')).toEqual([
      expect.objectContaining({ name: 'echo-shout', ok: true, value: 'HELLO THERE' }),
    ])
    expect(r.events.at(-1)).toMatchObject({ type: 'done', answer: expect.stringContaining('HELLO THERE') })
    // the model was offered the MCP tool beside the sandboxed one, with the server's schema
    const chat = server.requests.filter((q) => q.path === '/api/chat').at(-1)!
    const offered = chat.body.tools as { function: { name: string; parameters: { required?: string[] } } }[]
    expect(offered.map((t) => t.function.name).sort()).toEqual(
      ['calculate', 'echo-big', 'echo-crash', 'echo-shout', 'echo-slow'].sort(),
    )
    expect(offered.find((t) => t.function.name === 'echo-shout')!.function.parameters.required).toEqual(['text'])
    const pid = Number(readFileSync(p.pidFile, 'utf8'))
    expect(pid).toBeGreaterThan(0)
    expect(alive(pid)).toBe(false)
  })

  it('the time limit, the output limit and a server that exits are tool errors, and the run goes on', async () => {
    const p = await project({ serverYaml: '      timeout_ms: 300\n      max_output_bytes: 1000\n' })
    const r = await runCli(
      ['chain', 'run', 'echo', 'CALL echo-slow {"ms":5000} CALL echo-big {"bytes":5000} CALL echo-crash', '--json'],
      { cwd: p.dir, env: p.env },
    )
    expect(r.code).toBe(0)
    const results = of(r.events, 'tool-result')
    expect(results).toEqual([
      expect.objectContaining({ name: 'echo-slow', ok: false, code: 'TOOL_TIMEOUT' }),
      expect.objectContaining({ name: 'echo-big', ok: false, code: 'TOOL_OUTPUT' }),
      expect.objectContaining({ name: 'echo-crash', ok: false, code: 'TOOL_CRASH' }),
    ])
    expect(results[0]!.ms).toBeLessThan(3000)
    expect(results[1]!.error).toMatch(/5002 bytes, over the 1000/)
    expect(results[2]!.error).toMatch(/^MCP server "echo" \(.*echo-server\.mjs\) stopped answering/)
    expect(r.events.at(-1)).toMatchObject({ type: 'done', ok: true, answer: expect.stringContaining('TOOL_TIMEOUT') })
  })

  it('a server that cannot start is one line naming it and its command; the stage runs without its tools', async () => {
    const p = await project({ env: ', ECHO_FAIL_START: "1"' })
    const r = await runCli(['chain', 'run', 'echo', 'CALL calculate {"expression":"6*7"}', '--json'], {
      cwd: p.dir,
      env: p.env,
    })
    expect(r.code).toBe(0)
    const errors = of(r.events, 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]!.code).toBe('TOOL_CRASH')
    expect(errors[0]!.message).toMatch(
      /^MCP server "echo" \(\S+ \S+echo-server\.mjs\) did not start: it exited \(its last words: echo-server: cannot open its database\)/,
    )
    expect(errors[0]!.message).not.toContain('\n')
    expect(of(r.events, 'tool-result')).toEqual([expect.objectContaining({ name: 'calculate', ok: true })])

    // declared in the user's own config: no approval to ask for
    const missing = makeProject({ 'chains/echo.yaml': CHAIN })
    writeFileSync(
      path.join(missing.home, 'config.yaml'),
      'mcp:\n  servers:\n    echo: { command: no-such-mcp-server }\n',
    )
    const ls = await runCli(['tools', 'ls'], { cwd: missing.dir, env: { MIRADOR_HOME: missing.home } })
    expect(ls.stdout).toMatch(
      /✗ echo-\* +TOOL_CRASH: MCP server "echo" \(no-such-mcp-server\) did not start: no-such-mcp-server was not found/,
    )
  })

  it("a project's server starts only once approved, and again only after a change is approved", async () => {
    const p = await project({ approve: false })
    const run = () =>
      runCli(['chain', 'run', 'echo', 'CALL echo-shout {"text":"hi"}', '--json'], { cwd: p.dir, env: p.env })
    const refused = await run()
    expect(refused.code).toBe(0)
    const errors = of(refused.events, 'error')
    expect(errors).toEqual([expect.objectContaining({ code: 'MCP_UNAPPROVED' })])
    expect(errors[0]!.message).toMatch(/^MCP server "echo" is declared by the project's .*mirador\.config\.yaml/)
    expect(errors[0]!.message).toContain('`mirador mcp approve echo`')
    expect(of(refused.events, 'tool-call')).toEqual([])
    expect(existsSync(p.pidFile)).toBe(false) // nothing was started
    const ls = await runCli(['tools', 'ls'], { cwd: p.dir, env: p.env })
    expect(ls.stdout).toMatch(/✗ echo-\* +MCP_UNAPPROVED: /)
    expect(existsSync(p.pidFile)).toBe(false)

    const approve = await runCli(['mcp', 'approve'], { cwd: p.dir, env: p.env })
    expect(approve.stdout).toMatch(/✓ approved echo \(.*mirador\.config\.yaml\): \S+ \S+echo-server\.mjs/)
    expect(of((await run()).events, 'tool-result')).toEqual([expect.objectContaining({ ok: true, value: 'HI' })])

    // what runs changed: refused until approved again
    const cfg = path.join(p.dir, 'mirador.config.yaml')
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('echo-server.mjs"]', 'echo-server.mjs", "--verbose"]'))
    expect(of((await run()).events, 'error')).toEqual([expect.objectContaining({ code: 'MCP_UNAPPROVED' })])

    // a server of the user's own config needs no approval
    const u = makeProject({ 'chains/echo.yaml': CHAIN })
    writeFileSync(
      path.join(u.home, 'config.yaml'),
      `mcp:\n  servers:\n    echo: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(ECHO)}] }\n`,
    )
    const mine = await runCli(['chain', 'run', 'echo', 'CALL echo-shout {"text":"mine"}', '--json'], {
      cwd: u.dir,
      env: { MIRADOR_HOME: u.home, OLLAMA_HOST: server.url },
    })
    expect(of(mine.events, 'tool-result')).toEqual([expect.objectContaining({ ok: true, value: 'MINE' })])
  })
})

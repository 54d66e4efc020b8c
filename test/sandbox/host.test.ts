/**
 * A sandboxed plugin in a real host process, on a real engine and the real Ollama runtime: its
 * waterfall changes a stage's prompt, its event taps observe, and what it may not do fails inside
 * the host while the run answers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PACKAGE_ROOT } from '../../src/engine/package-root.js'
import { exitReason } from '../../src/sandbox/host-process.js'
import { createSandboxedPlugin } from '../../src/sandbox/index.js'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { alive, CHAIN, PROBE_DIR, probeSpec, sandboxed, setupEngine, waitUntil, type Setup } from './support.js'

let server: OllamaTestServer
let s: Setup | undefined
beforeAll(async () => {
  server = await startOllamaTestServer()
})
afterAll(async () => {
  await server.close()
})
afterEach(async () => {
  const pids = s?.plugins.map((p) => p.pid) ?? []
  await s?.close()
  s = undefined
  // no host is left behind
  for (const pid of pids) expect(alive(pid)).toBe(false)
})

const chats = () => server.requests.filter((r) => r.path === '/api/chat' && r.body?.messages?.length)
const lastPrompts = (n: number) =>
  chats()
    .slice(-n)
    .map((r) => JSON.stringify(r.body.messages))

describe('a sandboxed plugin', () => {
  it('changes the prompt through its waterfall, observes events, adds to the summary and emits', async () => {
    s = setupEngine(server)
    const plugin = sandboxed(s, probeSpec(s.home))
    const result = await s.run()
    expect(result.ok).toBe(true)
    expect(alive(plugin.pid)).toBe(true)
    const [draft, final] = lastPrompts(2)
    expect(draft).toContain('probe=sandboxed')
    expect(final).toContain('seen=final')
    const probes = s.events.filter((e) => e.type === 'probe')
    expect(probes.map((e) => e.stage).sort()).toEqual(['draft', 'final'])
    expect(s.events.filter((e) => e.type === 'log' && e.plugin === 'ProbePlugin')).toHaveLength(2)
    // the event taps saw the run's events, as they were delivered
    const seen = s.events.find((e) => e.type === 'probe-events')
    expect(seen?.events).toEqual(expect.arrayContaining(['ack', 'stage-start', 'token', 'stage-end']))
    expect(seen?.answer).toBe(result.answer)
    const done = s.events.at(-1)!
    expect(done).toMatchObject({ type: 'done', probeStages: 2 })
    expect(s.events.filter((e) => e.type === 'error')).toEqual([])
  })

  it('a tap that hangs is killed at its deadline, reported once, and the run answers without it', async () => {
    s = setupEngine(server)
    const plugin = sandboxed(s, probeSpec(s.home, { mode: 'hang' }, { deadlineMs: 300 }))
    const result = await s.run()
    expect(result.ok).toBe(true)
    const errors = s.events.filter((e) => e.type === 'error')
    expect(errors).toEqual([expect.objectContaining({ code: 'PLUGIN_SANDBOX', plugin: 'ProbePlugin' })])
    expect(errors[0]!.message).toMatch(/prompt tap did not answer within its 300 ms deadline/)
    expect(plugin.failure?.code).toBe('PLUGIN_SANDBOX')
    expect(await waitUntil(() => !alive(plugin.pid))).toBe(true)
    // the prompt went out without the plugin's variable, and the next run is not slowed or re-reported
    expect(lastPrompts(2)[0]).toContain('probe=')
    expect(lastPrompts(2)[0]).not.toContain('probe=sandboxed')
    const again = await s.run()
    expect(again.ok).toBe(true)
    expect(s.events.filter((e) => e.type === 'error')).toHaveLength(1)
  })

  it("hears the run's cancellation through its context's signal, and writes where it may", async () => {
    s = setupEngine(server)
    const writeDir = mkdtempSync(path.join(os.tmpdir(), 'mirador-write-'))
    const spec = probeSpec(s.home, { mode: 'wait-abort', writeDir }, { deadlineMs: 10000 })
    sandboxed(s, { ...spec, manifest: { ...spec.manifest, permissions: { fs: { write: [writeDir] } } } })
    const controller = new AbortController()
    const run = s.engine.run({ chain: CHAIN, query: 'q', signal: controller.signal })
    await new Promise((r) => setTimeout(r, 500))
    controller.abort()
    await run
    expect(await waitUntil(() => existsSync(path.join(writeDir, 'aborted')))).toBe(true)
    expect(readFileSync(path.join(writeDir, 'aborted'), 'utf8')).toBe('draft')
  })

  it('a host that dies during a tap is reported once by name, and the run answers', async () => {
    s = setupEngine(server)
    const plugin = sandboxed(s, probeSpec(s.home, { mode: 'crash' }))
    const result = await s.run()
    expect(result.ok).toBe(true)
    const errors = s.events.filter((e) => e.type === 'error')
    expect(errors).toEqual([expect.objectContaining({ code: 'PLUGIN_SANDBOX', plugin: 'ProbePlugin' })])
    expect(errors[0]!.message).toMatch(/its host process exited \(exit code 3\)/)
    expect(plugin.failure?.details?.reason).toBe('crashed')
  })

  it('a host that exits while it starts is reported with its last words, the reason', async () => {
    s = setupEngine(server)
    const plugin = sandboxed(s, probeSpec(s.home, { mode: 'exit-in-apply' }))
    expect((await s.run()).ok).toBe(true)
    const errors = s.events.filter((e) => e.type === 'error')
    expect(errors).toEqual([expect.objectContaining({ code: 'PLUGIN_SANDBOX', plugin: 'ProbePlugin' })])
    expect(errors[0]!.message).toContain('its host process exited (exit code 4: probe: its data file is missing)')
    expect(plugin.failure?.details?.reason).toBe('crashed')
  })

  it("the reason is Node's error line of an uncaught error, not the stack or version after it", () => {
    const uncaught = [
      'node:internal/modules/cjs/loader:1228',
      '  throw err;',
      '  ^',
      '',
      "Error: Cannot find module '/x/dist/host.js'",
      '    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15)',
      '    at node:internal/main/run_main_module:28:49 {',
      "  code: 'MODULE_NOT_FOUND',",
      '}',
      '',
      'Node.js v20.20.2',
      '',
    ].join('\n')
    expect(exitReason(uncaught)).toBe("Error: Cannot find module '/x/dist/host.js'")
    expect(exitReason('TypeError [ERR_X]: bad\n    at f (a.js:1:1)\n')).toBe('TypeError [ERR_X]: bad')
    expect(exitReason('plain words\n\n')).toBe('plain words')
    expect(exitReason('')).toBe('')
  })

  it('a tap that spins the CPU is killed the same way', async () => {
    s = setupEngine(server)
    const plugin = sandboxed(s, probeSpec(s.home, { mode: 'spin' }, { deadlineMs: 300 }))
    expect((await s.run()).ok).toBe(true)
    expect(s.events.filter((e) => e.type === 'error')).toEqual([
      expect.objectContaining({ code: 'PLUGIN_SANDBOX', plugin: 'ProbePlugin' }),
    ])
    expect(await waitUntil(() => !alive(plugin.pid))).toBe(true)
  })

  it('a plugin that throws while it is applied is reported by name, and the run answers', async () => {
    s = setupEngine(server)
    sandboxed(s, probeSpec(s.home, { mode: 'throw-apply' }))
    const result = await s.run()
    expect(result.ok).toBe(true)
    const errors = s.events.filter((e) => e.type === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ code: 'PLUGIN_SANDBOX', plugin: 'ProbePlugin' })
    expect(errors[0]!.message).toContain('probe exploded while applied')
  })

  it('tapping an undeclared hook: PLUGIN_UNDECLARED naming it; the plugin is off, the run answers', async () => {
    s = setupEngine(server)
    const plugin = sandboxed(s, probeSpec(s.home, { mode: 'undeclared-hook' }))
    expect((await s.run()).ok).toBe(true)
    const errors = s.events.filter((e) => e.type === 'error')
    expect(errors).toEqual([expect.objectContaining({ code: 'PLUGIN_UNDECLARED', plugin: 'ProbePlugin' })])
    expect(errors[0]!.message).toMatch(
      /plugin ProbePlugin taps the hook "route", which its package.json does not declare/,
    )
    expect(plugin.failure?.details).toMatchObject({ plugin: 'ProbePlugin', hook: 'route' })
    expect(s.events.filter((e) => e.type === 'probe')).toEqual([])
  })

  it('a tap calling an undeclared capability: PLUGIN_UNDECLARED naming it; the plugin stays on', async () => {
    s = setupEngine(server)
    s.engine.registerCapability('secret.read', async () => 'CANARY-SECRET')
    const plugin = sandboxed(s, probeSpec(s.home, { mode: 'undeclared-capability' }))
    expect((await s.run()).ok).toBe(true)
    const errors = s.events.filter((e) => e.type === 'error')
    expect(errors).toEqual([expect.objectContaining({ code: 'PLUGIN_UNDECLARED', plugin: 'ProbePlugin' })])
    expect(errors[0]!.message).toContain('calls the capability "secret.read", which its package.json does not declare')
    expect(plugin.failure).toBeUndefined()
    expect(JSON.stringify(s.events)).not.toContain('CANARY-SECRET')
  })

  it('cannot read $MIRADOR_HOME/keys/memory.key', async () => {
    s = setupEngine(server)
    sandboxed(s, probeSpec(s.home, { mode: 'read-key' }))
    expect((await s.run()).ok).toBe(true)
    const found = s.events.find((e) => e.type === 'probe')!.found
    expect(found).toEqual({ keyError: 'ERR_ACCESS_DENIED' })
    expect(JSON.stringify(s.events)).not.toContain('CANARY-KEY')
    // the user is told once, though it tried in both stages
    const warnings = s.events.filter((e) => e.type === 'log' && e.code === 'PLUGIN_SANDBOX')
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({ level: 'warn', plugin: 'ProbePlugin' })
    expect(warnings[0]!.message).toContain(`fs: FileSystemRead ${path.join(s.home, 'keys', 'memory.key')}`)
  })

  it('cannot start a program', async () => {
    s = setupEngine(server)
    sandboxed(s, probeSpec(s.home, { mode: 'spawn' }))
    expect((await s.run()).ok).toBe(true)
    expect(s.events.find((e) => e.type === 'probe')!.found).toEqual({ spawnError: 'ERR_ACCESS_DENIED' })
  })

  it('starts a program when its manifest declares childProcess', async () => {
    s = setupEngine(server)
    const spec = probeSpec(s.home, { mode: 'spawn' })
    sandboxed(s, { ...spec, manifest: { ...spec.manifest, permissions: { childProcess: true } } })
    expect((await s.run()).ok).toBe(true)
    expect(s.events.find((e) => e.type === 'probe')!.found).toEqual({ spawned: 'pwned\n' })
  })

  it('declaring the model hook is refused: it needs trusted: true', async () => {
    s = setupEngine(server)
    const spec = probeSpec(s.home)
    const plugin = createSandboxedPlugin({ ...spec, manifest: { ...spec.manifest, hooks: ['prompt', 'model'] } })
    expect(s.engine.use(plugin)).toBe(false)
    expect(s.engine.pluginErrors[0]).toMatchObject({ code: 'PLUGIN_SANDBOX' })
    expect(s.engine.pluginErrors[0]!.message).toMatch(/taps the model hook.*trusted: true/)
    expect(plugin.pid).toBeUndefined()
  })

  it('cannot start a worker thread nor reach process.binding', async () => {
    s = setupEngine(server)
    sandboxed(s, probeSpec(s.home, { mode: 'worker' }))
    expect((await s.run()).ok).toBe(true)
    expect(s.events.find((e) => e.type === 'probe')!.found).toEqual({
      refused: ['ERR_ACCESS_DENIED', 'ERR_ACCESS_DENIED'],
    })
  })

  it('sees only the environment variables it declared', async () => {
    s = setupEngine(server, { PROBE_TOKEN: 'declared', SECRET_TOKEN: 'not-declared' })
    const spec = probeSpec(s.home, { mode: 'env' })
    sandboxed(s, { ...spec, manifest: { ...spec.manifest, permissions: { env: ['PROBE_TOKEN'] } } })
    expect((await s.run()).ok).toBe(true)
    expect(s.events.find((e) => e.type === 'probe')!.found.env).toEqual(['PROBE_TOKEN'])
  })

  it("cannot change Mirador's built-ins, prototypes, fetch or the run's context", async () => {
    s = setupEngine(server)
    const fetchBefore = globalThis.fetch
    const tampered: string[][] = []
    const plugin = sandboxed(s, probeSpec(s.home, { mode: 'tamper' }))
    plugin.observe({ tampered: (_hook, fields) => void tampered.push(fields) })
    const result = await s.run('untouched query')
    expect(result.ok).toBe(true)
    expect(s.events.find((e) => e.type === 'probe')!.found).toEqual({ tampered: true, fetchLocked: true })
    expect(JSON.parse('{"a":1}')).toEqual({ a: 1 })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(globalThis.fetch).toBe(fetchBefore)
    expect(result.query).toBe('untouched query')
    expect(tampered[0]).toEqual(['query'])
  })

  it('a memory bomb is killed at its memory limit and the run answers', async () => {
    s = setupEngine(server)
    const plugin = sandboxed(s, probeSpec(s.home, { mode: 'bomb' }, { memoryMb: 64, deadlineMs: 20000 }))
    const result = await s.run()
    expect(result.ok).toBe(true)
    const errors = s.events.filter((e) => e.type === 'error')
    expect(errors).toEqual([expect.objectContaining({ code: 'PLUGIN_SANDBOX', plugin: 'ProbePlugin' })])
    expect(errors[0]!.message).toMatch(/over its 64 MB memory limit/)
    expect(await waitUntil(() => !alive(plugin.pid))).toBe(true)
  })

  it('memory outside the heap (buffers) is limited too', async () => {
    s = setupEngine(server)
    sandboxed(s, probeSpec(s.home, { mode: 'buffers' }, { memoryMb: 64, deadlineMs: 20000 }))
    expect((await s.run()).ok).toBe(true)
    const errors = s.events.filter((e) => e.type === 'error')
    expect(errors[0]!.message).toMatch(/over its 64 MB memory limit/)
  })

  it('calls the capabilities it declared, through Mirador; others are refused by name', async () => {
    s = setupEngine(server)
    const asked: unknown[] = []
    s.engine.registerCapability('memory.search', async (args) => (asked.push(args), [{ text: 'recalled' }]))
    s.engine.registerCapability('secret.read', async () => 'CANARY-SECRET')
    const spec = probeSpec(s.home, { mode: 'capability' })
    sandboxed(s, { ...spec, manifest: { ...spec.manifest, capabilities: ['memory.search'] } })
    expect((await s.run('what did I say')).ok).toBe(true)
    const found = s.events.find((e) => e.type === 'probe')!.found
    expect(found.recalled).toEqual([{ text: 'recalled' }])
    expect(asked[0]).toEqual({ query: 'what did I say' })
    expect(found.secretError).toMatch(/calls the capability "secret.read", which its package.json does not declare/)
    expect(JSON.stringify(s.events)).not.toContain('CANARY-SECRET')
  })

  it('offers the capabilities it provides, run in its host; an undeclared one is refused', async () => {
    s = setupEngine(server)
    const spec = probeSpec(s.home, { mode: 'provide' })
    const plugin = sandboxed(s, { ...spec, manifest: { ...spec.manifest, provides: ['probe.echo'] } })
    await plugin.started
    const answer = await s.engine.capability('probe.echo')!({ x: 1 })
    expect(answer).toEqual({ echo: { x: 1 }, pid: plugin.pid })
    const refused = sandboxed(s, { ...spec, name: 'Undeclared' })
    await expect(refused.started).rejects.toThrow(
      /offers the capability "probe.echo", which its package.json does not declare/,
    )
  })

  it('an event tap that hangs is killed at its deadline, and the run answers', async () => {
    s = setupEngine(server)
    const plugin = sandboxed(s, probeSpec(s.home, { mode: 'hang-event' }, { deadlineMs: 300 }))
    const result = await s.run()
    expect(result.ok).toBe(true)
    expect(await waitUntil(() => plugin.failure !== undefined)).toBe(true)
    const errors = () => s!.events.filter((e) => e.type === 'error')
    // reported once, in the run it failed in or the next one
    if (errors().length === 0) expect((await s.run()).ok).toBe(true)
    expect(errors()).toEqual([expect.objectContaining({ code: 'PLUGIN_SANDBOX', plugin: 'ProbePlugin' })])
    expect(errors()[0]!.message).toMatch(/event tap did not answer within its 300 ms deadline/)
  })

  it('a plugin with only an event tap that hangs is reported through the engine, in the run', async () => {
    s = setupEngine(server)
    const spec = probeSpec(s.home, { mode: 'event-only-hang' }, { deadlineMs: 300 })
    const plugin = sandboxed(s, { ...spec, manifest: { apiVersion: 1, hooks: ['event'] } })
    expect((await s.run()).ok).toBe(true)
    expect(await waitUntil(() => plugin.failure !== undefined)).toBe(true)
    // an event tap has no context to report in: the next event it is handed carries the report
    if (!s.events.some((e) => e.type === 'error')) expect((await s.run()).ok).toBe(true)
    const errors = s.events.filter((e) => e.type === 'error')
    expect(errors).toEqual([expect.objectContaining({ code: 'PLUGIN_SANDBOX', plugin: 'ProbePlugin' })])
    expect(errors[0]!.message).toMatch(/plugin ProbePlugin failed in the event hook: .*event tap did not answer/)
  })

  it('runs the example plugin (examples/plugins/today): {{today}} filled, its timestamp events emitted', async () => {
    s = setupEngine(server)
    const dir = path.join(PACKAGE_ROOT, 'examples', 'plugins', 'today')
    sandboxed(s, {
      name: 'TodayPlugin',
      entryFile: path.join(dir, 'index.js'),
      dir,
      manifest: { apiVersion: 1, hooks: ['prompt'], templateVars: ['today'] },
      options: { timeZone: 'UTC' },
      home: s.home,
    })
    const r = await s.engine.run({
      chain: { name: 't', value: { stages: { a: { model: 'quick', prompt: 'Today is {{today}}' } } } },
      query: 'q',
    })
    expect(r.ok).toBe(true)
    const today = new Date().toISOString().slice(0, 10)
    expect(lastPrompts(1)[0]).toContain(`Today is ${today}`)
    expect(s.events.find((e) => e.type === 'timestamp')).toMatchObject({ stage: 'a', today })
    expect(s.events.filter((e) => e.type === 'error')).toEqual([])
  })

  it("cannot forge the run's own events (tokens, done) nor log under another plugin's name", async () => {
    s = setupEngine(server)
    const forged: string[] = []
    const plugin = sandboxed(s, probeSpec(s.home, { mode: 'forge' }))
    plugin.observe({ access: (m) => void forged.push(m.detail) })
    const result = await s.run()
    expect(result.ok).toBe(true)
    expect(JSON.stringify(s.events)).not.toContain('FORGED')
    expect(s.events.filter((e) => e.type === 'done')).toHaveLength(1)
    expect(forged).toEqual(['emit token', 'emit done', 'emit token', 'emit done'])
    const logs = s.events.filter((e) => e.type === 'log' && e.message === 'speaking for another')
    expect(logs.map((e) => e.plugin)).toEqual(['ProbePlugin', 'ProbePlugin'])
  })

  it('is not started when its folder holds a link leading outside its permissions', async () => {
    s = setupEngine(server)
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-linked-'))
    for (const f of ['index.js', 'network.js', 'package.json']) copyFileSync(path.join(PROBE_DIR, f), path.join(dir, f))
    symlinkSync(path.join(s.home, 'keys'), path.join(dir, 'keys'))
    const spec = probeSpec(s.home, { mode: 'link', linkDir: path.join(dir, 'keys') })
    const plugin = sandboxed(s, { ...spec, dir, entryFile: path.join(dir, 'index.js') })
    expect((await s.run()).ok).toBe(true)
    const errors = s.events.filter((e) => e.type === 'error')
    expect(errors).toEqual([expect.objectContaining({ code: 'PLUGIN_SANDBOX', plugin: 'ProbePlugin' })])
    expect(errors[0]!.message).toContain(`holds a link to a path outside its permissions (${path.join(dir, 'keys')} ->`)
    expect(plugin.pid).toBeUndefined()
    expect(JSON.stringify(s.events)).not.toContain('CANARY-KEY')
  })

  it("is not started when what it may read covers Mirador's keys", async () => {
    s = setupEngine(server)
    const spec = probeSpec(s.home, { mode: 'read-key' })
    const manifest = { ...spec.manifest, permissions: { fs: { read: [s.home] } } }
    const plugin = sandboxed(s, { ...spec, manifest })
    expect((await s.run()).ok).toBe(true)
    const errors = s.events.filter((e) => e.type === 'error')
    expect(errors[0]!.message).toContain("covers Mirador's keys")
    expect(plugin.pid).toBeUndefined()
    expect(JSON.stringify(s.events)).not.toContain('CANARY-KEY')
  })

  it('stop() ends the host, and a stopped plugin lets runs answer', async () => {
    s = setupEngine(server)
    const plugin = sandboxed(s, probeSpec(s.home))
    await plugin.started
    const pid = plugin.pid
    expect(alive(pid)).toBe(true)
    await plugin.stop()
    expect(alive(pid)).toBe(false)
  })
})

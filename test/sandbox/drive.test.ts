/**
 * The behaviour test driver: a plugin applied in its sandbox and driven through the shipped
 * recording of a realistic run, several times; what it tried outside its permissions, what timed
 * out, what it changed that it may not change, and on which run.
 */
import { describe, expect, it } from '@jest/globals'
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PACKAGE_ROOT } from '../../src/engine/package-root.js'
import { defaultTraffic, driveSandboxed } from '../../src/sandbox/drive.js'
import { probeSpec } from './support.js'

const home = mkdtempSync(path.join(os.tmpdir(), 'mirador-drive-'))

describe('driveSandboxed', () => {
  it('the shipped recording is a realistic run: every hook but model, on two stages', () => {
    const hooks = new Set(defaultTraffic().calls.map((c) => c.hook))
    expect([...hooks].sort()).toEqual(
      ['event', 'feedback', 'forget', 'plan', 'prompt', 'route', 'runDone', 'stageDone', 'tools'].sort(),
    )
  })

  it('finds nothing in the example plugin', async () => {
    const dir = path.join(PACKAGE_ROOT, 'examples', 'plugins', 'today')
    const report = await driveSandboxed(
      {
        name: 'TodayPlugin',
        entryFile: path.join(dir, 'index.js'),
        dir,
        manifest: { apiVersion: 1, hooks: ['prompt'], templateVars: ['today'] },
        options: {},
        home,
      },
      defaultTraffic(),
      3,
    )
    expect(report).toMatchObject({ plugin: 'TodayPlugin', runs: 3, clean: true, accesses: [], failures: [] })
    expect(report.calls).toBe(3 * defaultTraffic().calls.length)
  })

  it('reports a read outside its permissions, even when the plugin catches the error', async () => {
    const report = await driveSandboxed(probeSpec(home, { mode: 'read-key' }), defaultTraffic(), 2)
    expect(report.clean).toBe(false)
    expect(report.accesses[0]).toMatchObject({
      run: 1,
      kind: 'fs',
      hook: 'prompt',
      detail: `FileSystemRead ${path.join(home, 'keys', 'memory.key')}`,
    })
  })

  it('shows a time bomb on the run it goes off', async () => {
    const report = await driveSandboxed(probeSpec(home, { mode: 'time-bomb' }), defaultTraffic(), 3)
    expect(report.accesses.map((a) => a.run)).toEqual([3, 3])
    expect(report.accesses[0]!.kind).toBe('fs')
  })

  it('reports a tap that hangs as a timeout and stops there', async () => {
    const report = await driveSandboxed(probeSpec(home, { mode: 'hang' }, { deadlineMs: 300 }), defaultTraffic(), 3)
    expect(report.failures).toEqual([
      expect.objectContaining({ run: 1, kind: 'timeout', detail: expect.stringContaining('prompt tap') }),
    ])
    expect(report.runs).toBe(1)
  })

  it('reports network attempts, undeclared hooks and changes to read-only context fields', async () => {
    const net = await driveSandboxed(
      probeSpec(home, { mode: 'net', port: 9, udpPort: 9, socketPath: '/nonexistent.sock' }, { deadlineMs: 10000 }),
      defaultTraffic(),
      1,
    )
    expect(net.accesses.filter((a) => a.kind === 'network').length).toBeGreaterThanOrEqual(12)
    const hook = await driveSandboxed(probeSpec(home, { mode: 'undeclared-hook' }), defaultTraffic(), 1)
    expect(hook.accesses).toEqual([expect.objectContaining({ kind: 'hook', detail: 'route' })])
    expect(hook.failures[0]?.detail).toMatch(/taps the hook "route"/)
    const tamper = await driveSandboxed(probeSpec(home, { mode: 'tamper' }), defaultTraffic(), 1)
    expect(tamper.tampered).toEqual([
      expect.objectContaining({ hook: 'prompt', detail: 'query' }),
      expect.objectContaining({ hook: 'prompt', detail: 'query' }),
    ])
  })
})

import { describe, expect, it } from '@jest/globals'
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  addStage,
  appendLog,
  emptySummary,
  estimateJoules,
  forgetLog,
  J_GEN,
  J_PROMPT,
  logFile,
  readLog,
  summarize,
  type EnergyLogEntry,
} from '../../src/plugins/energy/account.js'

describe('estimateJoules', () => {
  it('size × (J_GEN × generated + J_PROMPT × prompt)', () => {
    expect(J_GEN).toBe(0.2)
    expect(J_PROMPT).toBe(0.02)
    expect(estimateJoules(4.7, 100, 0)).toBeCloseTo(94)
    expect(estimateJoules(1.3, 100, 500)).toBeCloseTo(1.3 * (20 + 10))
    expect(estimateJoules(0, 100, 100)).toBe(0)
  })
  it('an unknown size counts as 4 GB', () => {
    expect(estimateJoules(undefined, 10, 10)).toBeCloseTo(4 * (2 + 0.2))
  })
  it('a per-model cost overrides the size-based one', () => {
    expect(estimateJoules(4.7, 100, 1000, { j_per_token: 1 })).toBeCloseTo(100 + 4.7 * 0.02 * 1000)
    expect(estimateJoules(4.7, 100, 1000, { j_per_token: 1, j_per_prompt_token: 0 })).toBeCloseTo(100)
  })
  it('the deep model costs 4.7 / 1.3 ≈ 3.6 × the quick one per token', () => {
    expect(estimateJoules(4.7, 100, 100) / estimateJoules(1.3, 100, 100)).toBeCloseTo(4.7 / 1.3)
  })
})

describe('addStage', () => {
  it('sums per model and in total, rounded to 0.1 J', () => {
    const s = emptySummary('balanced')
    addStage(s, 'llama3.2:1b', 1.3, 100, 50)
    addStage(s, 'llama3.2:1b', 1.3, 10, 0)
    addStage(s, 'qwen2.5:7b', 4.7, 200, 50)
    expect(s.byModel['llama3.2:1b']).toEqual({ joules: 29.9, tokens: 110, promptTokens: 50, gb: 1.3 })
    expect(s.byModel['qwen2.5:7b']!.joules).toBeCloseTo(4.7 * (40 + 1), 1)
    expect(s.joules).toBeCloseTo(29.9 + 192.7, 1)
    expect(s.tokens).toBe(310)
    expect(s.promptTokens).toBe(100)
    expect(s.profile).toBe('balanced')
  })
})

describe('the energy log', () => {
  const entry = (at: string, over: Partial<EnergyLogEntry> = {}): EnergyLogEntry => ({
    at,
    runId: `r_${at}`,
    chain: 'quick-deep',
    profile: 'performance',
    joules: 10,
    tokens: 100,
    promptTokens: 20,
    ...over,
  })

  it('appends one line per run, reads them back, skips torn lines', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'mirador-energy-'))
    await appendLog(home, entry('2026-03-01T10:00:00.000Z'))
    appendFileSync(logFile(home), '{"at": "torn') // a crash mid-line
    await appendLog(home, entry('2026-03-01T11:00:00.000Z', { joules: 5 }))
    await Promise.all(
      [1, 2, 3].map((i) =>
        appendLog(home, entry(`2026-03-02T0${i}:00:00.000Z`, { chain: 'single', profile: 'survival', joules: i })),
      ),
    )
    const lines = readFileSync(logFile(home), 'utf8').split('\n').filter(Boolean)
    expect(lines).toHaveLength(6)
    const entries = await readLog(home)
    expect(entries).toHaveLength(5)
    const r = summarize(entries)
    expect(r.runs).toBe(5)
    expect(r.joules).toBe(21)
    expect(r.byProfile).toEqual([
      { key: 'performance', runs: 2, joules: 15, mean: 7.5, tokens: 200 },
      { key: 'survival', runs: 3, joules: 6, mean: 2, tokens: 300 },
    ])
    expect(r.byChain.map((x) => [x.key, x.runs])).toEqual([
      ['quick-deep', 2],
      ['single', 3],
    ])
    expect(r.byDay.map((x) => x.runs).reduce((a, b) => a + b, 0)).toBe(5)
  })

  it('forget removes runs, a time range, or everything', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'mirador-energy-'))
    for (const d of ['01', '02', '03']) await appendLog(home, entry(`2026-03-${d}T10:00:00.000Z`))
    expect(await forgetLog(home, { runIds: ['r_2026-03-02T10:00:00.000Z'] })).toBe(1)
    expect(await forgetLog(home, { before: Date.parse('2026-03-02T00:00:00Z') })).toBe(1)
    expect((await readLog(home)).map((e) => e.at)).toEqual(['2026-03-03T10:00:00.000Z'])
    expect(await forgetLog(home, { all: true })).toBe(1)
    expect(await readLog(home)).toEqual([])
  })

  it('an empty log is an empty report', () => {
    expect(summarize([])).toEqual({ runs: 0, joules: 0, wh: 0, byProfile: [], byChain: [], byDay: [] })
  })
})

/** The import file's line format, and the progress bar memory import draws. */
import { describe, expect, it } from '@jest/globals'
import { progressBar } from '../../src/cli/progress.js'
import { MAX_IMPORT_TEXT, parseImportLine } from '../../src/plugins/memory/import.js'

describe('parseImportLine', () => {
  it('takes ISO dates and times only, as ms', () => {
    for (const at of ['2026-03-01', '2026-03-01T09:30', '2026-03-01T09:30:05.123Z', '2026-03-01T09:30:00+02:00'])
      expect(parseImportLine(JSON.stringify({ text: 't', at }))).toEqual({ item: { text: 't', at: Date.parse(at) } })
    for (const at of ['March 3', '2026-13-45', 1767225600000, ''])
      expect(parseImportLine(JSON.stringify({ text: 't', at }))).toEqual({ error: expect.stringMatching(/ISO time/) })
  })

  it('keeps a ref as given (string or number), normalises a session, refuses what it cannot keep', () => {
    expect(parseImportLine('{"text":"t","ref":12,"session":"Cafe\u0301"}')).toEqual({
      item: { text: 't', ref: 12, session: 'Café' },
    })
    expect(parseImportLine('{"text":"t","ref":{"id":1}}')).toEqual({ error: expect.stringMatching(/"ref" must be/) })
    expect(parseImportLine('{"text":"   "}')).toEqual({ error: '"text" is missing or empty' })
    expect(parseImportLine(JSON.stringify({ text: 'x'.repeat(MAX_IMPORT_TEXT + 1) }))).toEqual({
      error: expect.stringMatching(/at most 20000/),
    })
    expect(parseImportLine('"just text"')).toEqual({ error: expect.stringMatching(/not an object/) })
  })
})

function sink(isTTY: boolean) {
  const writes: string[] = []
  return { writes, out: { isTTY, write: (s: string) => writes.push(s) } }
}

describe('progressBar', () => {
  it('on a terminal: redraws one line in place and ends it', () => {
    const { writes, out } = sink(true)
    const bar = progressBar({ label: 'importing', unit: 'lines', out, width: 10 })
    bar.update(5, 10)
    bar.update(6, 10) // within the redraw interval: not drawn
    bar.update(10, 10)
    bar.end()
    expect(writes[0]).toBe('\r\x1b[2Kimporting [#####.....] 50% (5/10 lines)')
    expect(writes.at(-2)).toBe('\r\x1b[2Kimporting [##########] 100% (10/10 lines)')
    expect(writes.at(-1)).toBe('\n')
    expect(writes).toHaveLength(3)
  })

  it('elsewhere: a line per tenth; quiet: nothing', () => {
    const { writes, out } = sink(false)
    const bar = progressBar({ label: 'importing', unit: 'lines', out, width: 4 })
    for (let i = 1; i <= 2000; i++) bar.update(i, 2000)
    bar.end()
    expect(writes).toHaveLength(11) // 0 %, 10 %, … 100 %
    expect(writes.at(-1)).toBe('importing [####] 100% (2,000/2,000 lines)\n')
    const q = sink(false)
    const quiet = progressBar({ label: 'x', unit: 'y', out: q.out, quiet: true })
    quiet.update(1, 2)
    quiet.end()
    expect(q.writes).toEqual([])
  })
})

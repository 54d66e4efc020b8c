/**
 * `memory import`, `memory search` (--session, --limit, --batch) and the newcomer fixes of memory's
 * commands, through the real CLI on the real bundled Chroma server.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { stopChromaServer } from '../../src/plugins/memory/chroma/server.js'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, runCli } from '../support/cli.js'

let server: OllamaTestServer
const homes: string[] = []
beforeAll(async () => {
  server = await startOllamaTestServer()
})
afterAll(async () => {
  await server.close()
  for (const h of homes) await stopChromaServer(h)
})

function project(files: Record<string, string> = {}) {
  const p = makeProject({
    'chains/single.yaml': 'stages:\n  answer: { model: "llama3.2:1b", prompt: "{{memory}}\\n{{query}}" }\n',
    ...files,
  })
  homes.push(p.home)
  const env = { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url, MIRADOR_MEMORY: 'on' }
  const cli = (args: string[], input?: string) =>
    runCli(args, { cwd: p.dir, env, ...(input !== undefined ? { input } : {}) })
  return { ...p, env, cli }
}

const line = (o: unknown) => JSON.stringify(o)
const FILE = [
  line({ text: 'My dentist is Dr Zanetti on Quince Street', at: '2025-03-01T10:00:00Z', ref: 'dentist-42' }),
  line({ text: 'We moved the Zanzibar trip to May', session: 'holiday', ref: 7 }),
  '',
  'not json at all',
  line({ text: 'the wifi password=hunter22xyz at the cabin', ref: 'wifi' }),
  line({ txt: 'a typo in the key' }),
  line({ text: 'when?', at: 'yesterday' }),
  line({ text: 'a session no one could name', session: 'no spaces allowed' }),
  line({ text: 'Grandma Odile bakes quince tarts every Sunday' }),
].join('\n')

describe('memory import', () => {
  it('imports good lines (redacted, sealed, with at/session/ref), skips bad ones by line number', async () => {
    const p = project({ 'mem.jsonl': FILE })
    const r = await p.cli(['memory', 'import', 'mem.jsonl', '--json'])
    expect(r.code).toBe(0)
    // --json: the report on stdout, no progress on stderr
    expect(r.stderr).toBe('')
    const report = JSON.parse(r.stdout)
    expect(report).toMatchObject({ file: 'mem.jsonl', lines: 9, imported: 4, skipped: 4, redacted: 1 })
    expect(report.errors.map((e: { line: number }) => e.line)).toEqual([4, 6, 7, 8])
    expect(report.errors[1].message).toMatch(/unknown key "txt"/)
    expect(report.errors[2].message).toMatch(/"at" must be an ISO time/)
    expect(report.errors[3].message).toMatch(/session name/)

    const ls = JSON.parse((await p.cli(['memory', 'ls', '--json'])).stdout)
    expect(ls.total).toBe(4)
    const byRef = (ref: unknown) => ls.memories.find((m: { meta: { ref?: unknown } }) => m.meta.ref === ref)
    expect(byRef('dentist-42').meta).toMatchObject({ createdAt: Date.parse('2025-03-01T10:00:00Z'), kind: 'import' })
    expect(byRef(7).meta.session).toBe('holiday')
    expect(byRef('wifi').text).toBe('the wifi password=[REDACTED:PASSWORD] at the cabin')

    // search gives the ref back; --session keeps to a session
    const found = JSON.parse((await p.cli(['memory', 'search', 'dentist on Quince Street', '--json'])).stdout)
    expect(found[0]).toMatchObject({ id: byRef('dentist-42').id, ref: 'dentist-42' })
    const inSession = JSON.parse(
      (await p.cli(['memory', 'search', 'Zanzibar trip', '--session', 'holiday', '--json'])).stdout,
    )
    expect(inSession.map((m: { ref: unknown }) => m.ref)).toEqual([7])
    const elsewhere = JSON.parse(
      (await p.cli(['memory', 'search', 'Zanzibar trip', '--session', 'work', '--json'])).stdout,
    )
    expect(elsewhere).toEqual([])
    expect((await p.cli(['memory', 'show', byRef(7).id])).stdout).toMatch(
      /imported by `memory import`.*, session holiday, ref 7/,
    )

    // nothing readable at rest: not the text, the session name or the ref
    const files = readdirSync(p.home, { recursive: true, withFileTypes: true }).filter((d) => d.isFile())
    for (const d of files) {
      const bytes = readFileSync(path.join(d.parentPath, d.name)).toString('latin1')
      for (const secret of ['Zanetti', 'Zanzibar', 'holiday', 'dentist-42', 'hunter22xyz', 'Odile'])
        expect([d.name, bytes.includes(secret)]).toEqual([d.name, false])
    }
  })

  it('draws progress as plain lines when stderr is not a terminal, and says what it skipped', async () => {
    const many = Array.from({ length: 300 }, (_, i) => line({ text: `note number ${i} about topic ${i % 7}` }))
    const p = project({ 'many.jsonl': [...many, '{"text": 5}'].join('\n') })
    const r = await p.cli(['memory', 'import', 'many.jsonl'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/✓ imported 300 memories from many.jsonl; 1 bad line skipped/)
    const bars = r.stderr.split('\n').filter((l) => l.startsWith('importing ['))
    expect(bars.at(-1)).toBe('importing [########################] 100% (301/301 lines)')
    // one line per tenth at most, not one per batch or per line
    expect(bars.length).toBeGreaterThanOrEqual(2)
    expect(bars.length).toBeLessThanOrEqual(11)
    expect(r.stderr).toMatch(/^line 301: "text" is missing or empty$/m)
  })

  it('refuses a missing file, and a file whose lines are all bad exits 1', async () => {
    const p = project({ 'bad.jsonl': 'nope\n[1]\n' })
    const missing = await p.cli(['memory', 'import', 'nowhere.jsonl'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/✗ USAGE: cannot read nowhere.jsonl: no such file/)
    const bad = await p.cli(['memory', 'import', 'bad.jsonl'])
    expect(bad.code).toBe(1)
    expect(bad.stdout).toMatch(/imported 0 memories.*2 bad lines skipped/)
  })

  it('refuses, before writing anything, a file that would take the store past max_memories', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => line({ text: `memo ${i}` })).join('\n')
    const p = project({
      'big.jsonl': rows,
      'mirador.config.yaml': 'builtins:\n  memory: { max_memories: 10 }\n',
    })
    const r = await p.cli(['memory', 'import', 'big.jsonl'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/holds up to 12 memories .* cap of 10.*max_memories.*Nothing was imported/)
    expect(JSON.parse((await p.cli(['memory', 'ls', '--json'])).stdout).total).toBe(0)
  })
})

describe('memory search', () => {
  it('--batch: one JSON line per query, in order, best first, with refs; bad lines in place', async () => {
    const p = project({ 'mem.jsonl': FILE })
    await p.cli(['memory', 'import', 'mem.jsonl'])
    const input = [
      line({ query: 'my dentist Dr Zanetti', ref: 'q1' }),
      line({ query: 'Zanzibar trip in May', ref: 2, session: 'holiday', limit: 1 }),
      '',
      '{"query": ',
      line({ query: 'quince', limit: 2 }),
      line({ query: 'x', limit: 99, ref: 'q5' }),
      line({ query: 'submarine periscope', ref: 'q6' }),
    ].join('\n')
    const r = await p.cli(['memory', 'search', '--batch'], input)
    expect(r.code).toBe(1) // a bad line
    const out = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(out).toHaveLength(6)
    expect(out[0]).toMatchObject({ ref: 'q1', results: [{ ref: 'dentist-42' }] })
    expect(out[0].results[0]).toEqual({
      id: expect.stringMatching(/^m_/),
      ref: 'dentist-42',
      score: expect.any(Number),
    })
    expect(out[1]).toEqual({ ref: 2, results: [{ id: expect.any(String), ref: 7, score: expect.any(Number) }] })
    expect(out[2]).toEqual({ ref: null, line: 4, error: { code: 'USAGE', message: expect.stringMatching(/not JSON/) } })
    // both quince memories, best first; one has no ref
    expect(out[3].results).toHaveLength(2)
    expect(out[3].results[0].score).toBeGreaterThanOrEqual(out[3].results[1].score)
    expect(out[3].results.map((x: { ref: unknown }) => x.ref).sort()).toEqual(['dentist-42', null])
    expect(out[4]).toMatchObject({ ref: 'q5', line: 6, error: { message: expect.stringMatching(/"limit"/) } })
    expect(out[5]).toEqual({ ref: 'q6', results: [] })

    const both = await p.cli(['memory', 'search', 'dentist', '--batch'])
    expect(both.code).toBe(2)
    expect(both.stderr).toMatch(/--batch reads its queries from standard input/)
    expect((await p.cli(['memory', 'search'])).stderr).toMatch(/✗ USAGE: say what to look for/)
  })

  it('says nothing is relevant when no memory reaches the threshold (not every memory at its recency)', async () => {
    const p = project({ 'mem.jsonl': FILE })
    await p.cli(['memory', 'import', 'mem.jsonl'])
    const r = await p.cli(['memory', 'search', 'submarine periscope'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^Nothing relevant remembered: no memory reaches the similarity threshold \(0\.3\)\.\n$/)
    expect(JSON.parse((await p.cli(['memory', 'search', 'submarine periscope', '--json'])).stdout)).toEqual([])
    const some = await p.cli(['memory', 'search', 'Zanetti', '--limit', '1'])
    expect(some.stdout.trim().split('\n')).toHaveLength(1)
    expect(some.stdout).toMatch(/ref "dentist-42"/)
  })
})

describe('memory commands, as a newcomer meets them', () => {
  it('forget takes several ids, says unknown ones, counts in words; ls has a header', async () => {
    const p = project({ 'mem.jsonl': FILE })
    await p.cli(['memory', 'import', 'mem.jsonl'])
    const ls = await p.cli(['memory', 'ls'])
    expect(ls.stdout.split('\n')[0]).toMatch(/^ID\s+MADE \(UTC\)\s+CHAIN \[SESSION\]\s+RECALLED\s+TEXT$/)
    expect(ls.stdout).toMatch(/ import \[holiday\] +×0 +We moved the Zanzibar trip/)
    const ids = JSON.parse((await p.cli(['memory', 'ls', '--json'])).stdout).memories.map((m: { id: string }) => m.id)

    const two = await p.cli(['memory', 'forget', ids[0], ids[1], 'm_doesnotexist0', '--yes'])
    expect(two.code).toBe(0)
    expect(two.stdout).toMatch(/✓ forgot 2 memories/)
    expect(two.stderr).toMatch(/no memory m_doesnotexist0: left out/)
    const one = await p.cli(['memory', 'forget', ids[2], '--yes'])
    expect(one.stdout).toMatch(/✓ forgot 1 memory$/m)
    expect((await p.cli(['memory', 'ls'])).stdout).toMatch(/^1 memory$/m)

    const unknown = await p.cli(['memory', 'forget', ids[0], '--yes'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/✗ USAGE: no memory m_\w+: nothing was forgotten/)
    const notAnId = await p.cli(['memory', 'forget', 'planning', '--yes'])
    expect(notAnId.stderr).toMatch(/✗ USAGE: "planning" is not a memory id/)
    const mixed = await p.cli(['memory', 'forget', ids[3], '--all', '--yes'])
    expect(mixed.stderr).toMatch(/✗ USAGE: say what to forget, one way at a time/)
  })

  it('only stages whose prompt or system uses {{memory}} get a memory event; none: no recall at all', async () => {
    const p = project({
      'chains/two.yaml':
        'stages:\n' +
        '  answer: { model: "llama3.2:1b", prompt: "{{query}}", system: "Known: {{ memory }}" }\n' +
        '  polish: { model: "llama3.2:1b", prompt: "Polish: {{stages.answer.output}}" }\n',
      'chains/plain.yaml': 'stages:\n  only: { model: "llama3.2:1b", prompt: "{{query}}" }\n',
    })
    await p.cli(['chain', 'run', 'single', 'My dentist is Dr Zanetti', '--no-stream'])
    const two = await p.cli(['chain', 'run', 'two', 'Who is my dentist?', '--json'])
    expect(two.code).toBe(0)
    expect(two.events.filter((e) => e.type === 'memory').map((e) => e.stage)).toEqual(['answer'])
    const text = await p.cli(['chain', 'run', 'two', 'Who is my dentist?'])
    expect(text.stdout).toMatch(/\[memory\] answer: recalled/)
    expect(text.stdout).not.toMatch(/\[memory\] polish/)

    const plain = await p.cli(['chain', 'run', 'plain', 'Who is my dentist?', '--json'])
    expect(plain.code).toBe(0)
    expect(plain.events.filter((e) => e.type === 'memory')).toEqual([])
    // nothing was put into a prompt, so nothing counts as recalled
    const ls = JSON.parse((await p.cli(['memory', 'ls', '--json'])).stdout)
    const dentist = ls.memories.find((m: { text: string }) => m.text.includes('Zanetti') && m.text.startsWith('Q: My'))
    expect(dentist.meta.recalls).toBe(2)
  })
})

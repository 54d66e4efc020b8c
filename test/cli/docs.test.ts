/**
 * Your documents through the real CLI on the real bundled Chroma server: `docs add` (again: only
 * what changed), `docs sync`, `ls`, `rm`, `search`; `{{docs}}` in a run and the search_docs tool's
 * citations; `memory forget --all` reaching them; and no file under $MIRADOR_HOME holding a line
 * of a document or its path.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { existsSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { loadCipher } from '../../src/lib/crypto.js'
import { createHashingEmbedder } from '../../src/lib/embedder.js'
import { knownChromaServer, stopChromaServer } from '../../src/plugins/memory/chroma/server.js'
import { docsCollection } from '../../src/plugins/memory/docs/passages.js'
import { collectionFor } from '../../src/plugins/memory/open-store.js'
import { rawClient } from '../support/chroma-helpers.js'
import { filesHolding } from '../support/home-files.js'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, runCli } from '../support/cli.js'

jest.setTimeout(120_000)

let server: OllamaTestServer
const homes: string[] = []
beforeAll(async () => {
  server = await startOllamaTestServer()
})
afterAll(async () => {
  await server.close()
  for (const h of homes) await stopChromaServer(h)
})

const GARDEN = [
  '# Garden', // 1
  '', // 2
  'Our allotment behind the Vellacourt library.', // 3
  '', // 4
  '## Tomatoes', // 5
  '', // 6
  'Plant tomato seedlings outside after the last frost, 60 cm apart.', // 7
  'Water them deeply twice a week.', // 8
  '', // 9
  '## Peppers', // 10
  '', // 11
  'Peppers like heat: start them indoors in March.', // 12
].join('\n')

const FILES = {
  'zorbnotes/garden-qx.md': GARDEN,
  'zorbnotes/boiler.txt':
    'The boiler code is reset by holding the Quillfeather button for ten seconds.\nwifi password: hunter22xyz\n',
  'zorbnotes/code/util.ts': 'export function frobnicateWidgets(n: number) {\n  return n * 2\n}\n',
  'zorbnotes/photo.png': 'not really a picture',
  'zorbnotes/blob.txt': 'bin\u0000ary',
  'zorbnotes/.private/hidden.md': 'hidden note',
}

function project(extra: Record<string, string> = {}) {
  const p = makeProject({
    'chains/docs.yaml':
      'stages:\n  answer:\n    model: "llama3.2:1b"\n    prompt: "{{docs}}\\n{{query}}"\n    tools: [search_docs]\n',
    'chains/nodocs.yaml': 'stages:\n  answer: { model: "llama3.2:1b", prompt: "{{docs}}\\n{{query}}", docs: false }\n',
    // the hashing embedder unless a test names one: word matches make the expectations exact
    'mirador.config.yaml': 'builtins:\n  memory: { embed: { runtime: hashing } }\n',
    ...FILES,
    ...extra,
  })
  homes.push(p.home)
  const env = { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url, MIRADOR_MEMORY: 'on' }
  const cli = (args: string[]) => runCli(args, { cwd: p.dir, env, timeoutMs: 60_000 })
  const json = async (args: string[]) => {
    const r = await cli([...args, '--json'])
    expect([args, r.code, r.stderr]).toEqual([args, 0, ''])
    return JSON.parse(r.stdout)
  }
  return { ...p, env, cli, json }
}

const lastPrompt = () =>
  server.requests
    .filter((r) => r.path === '/api/chat' && r.body?.messages?.length)
    .at(-1)!
    .body.messages.at(-1).content as string

describe('docs through the CLI', () => {
  it('add indexes text and code (notes what it skips), again only what changed; sync, ls, search, rm', async () => {
    const p = project()
    const first = await p.json(['docs', 'add', 'zorbnotes'])
    expect(first).toMatchObject({ added: 3, changed: 0, removed: 0, unchanged: 0, ignored: 1 })
    expect(first.skipped).toEqual([{ path: path.join('zorbnotes', 'blob.txt'), reason: 'binary (not text)' }])

    const again = await p.cli(['docs', 'add', 'zorbnotes'])
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(/✓ indexed 0 files: 0 added, 0 changed, 0 removed, 3 unchanged/)
    expect(again.stderr).toMatch(/indexing \[#+\] 100%/)
    expect(again.stderr).toMatch(/skipped zorbnotes\/blob\.txt: binary/)

    // one edited, one touched with the same content, one deleted, one new
    writeFileSync(path.join(p.dir, 'zorbnotes/garden-qx.md'), GARDEN + '\n\nBasil goes between the tomatoes.\n')
    const later = new Date(Date.now() + 5000)
    utimesSync(path.join(p.dir, 'zorbnotes/code/util.ts'), later, later)
    rmSync(path.join(p.dir, 'zorbnotes/boiler.txt'))
    writeFileSync(path.join(p.dir, 'zorbnotes/new.md'), '# New\n\nA note about quinces.\n')
    expect(await p.json(['docs', 'sync'])).toMatchObject({ added: 1, changed: 1, removed: 1, unchanged: 1 })

    const found = await p.json(['docs', 'search', 'tomato seedlings'])
    expect(found[0]).toMatchObject({
      citation: `${path.join('zorbnotes', 'garden-qx.md')}:5-8`,
      start: 5,
      end: 8,
      heading: 'Garden > Tomatoes',
      text: expect.stringContaining('Plant tomato seedlings outside'),
    })
    expect(JSON.stringify(found)).not.toMatch(/Quillfeather/)
    const text = await p.cli(['docs', 'search', 'when to plant tomato seedlings', '--limit', '1'])
    expect(text.stdout).toMatch(
      /^zorbnotes\/garden-qx\.md:5-8 {2}score \d\.\d{3} .* {2}Garden > Tomatoes\n {4}## Tomatoes/,
    )
    expect((await p.cli(['docs', 'search', 'zzyzx qwvb'])).stdout).toMatch(/Nothing relevant in your documents/)

    const ls = await p.json(['docs', 'ls', '--files'])
    expect(ls.roots).toEqual([expect.objectContaining({ path: 'zorbnotes', kind: 'dir', files: 3 })])
    expect(ls.files.map((f: { path: string }) => f.path)).toEqual(
      ['zorbnotes/code/util.ts', 'zorbnotes/garden-qx.md', 'zorbnotes/new.md'].map((f) => path.join(...f.split('/'))),
    )

    // a folder inside a root: excluded from it from now on, its passages gone
    const rm = await p.cli(['docs', 'rm', 'zorbnotes/code'])
    expect(rm.stdout).toMatch(/✓ code is now excluded from zorbnotes\/\n✓ removed 1 file and 1 passage from the index/)
    expect((await p.json(['docs', 'search', 'frobnicateWidgets'])).length).toBe(0)
    expect(await p.json(['docs', 'sync'])).toMatchObject({ added: 0, removed: 0, unchanged: 2 })

    const gone = await p.json(['docs', 'rm', 'zorbnotes'])
    expect(gone).toMatchObject({ roots: ['zorbnotes'], files: 2 })
    expect((await p.cli(['docs', 'ls'])).stdout).toMatch(/No documents are indexed/)
    expect(await p.json(['docs', 'search', 'tomato'])).toEqual([])
    expect(existsSync(path.join(p.home, 'docs', 'index.sealed'))).toBe(false)

    const bad = await p.cli(['docs', 'add', 'nowhere'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/✗ USAGE: nowhere: no such file or folder/)
  })

  it("docs rm purges the removed passages from the store's files, not only from the index", async () => {
    const p = project()
    expect(await p.json(['docs', 'add', 'zorbnotes'])).toMatchObject({ added: 3 })
    // the removed passage as Chroma holds it: sealed text in metadata (a control: the files hold it now)
    const server = (await knownChromaServer(p.home, {}))!
    const cipher = await loadCipher({ home: p.home, env: {} })
    const col = await rawClient(server.url, server.token).getCollection({
      name: docsCollection(collectionFor(createHashingEmbedder().id)),
      embeddingFunction: { generate: async () => [] },
    })
    const all = await col.get({ include: ['metadatas'] })
    const sealed = all.metadatas
      .map((m) => m!.text_sealed as string)
      .filter((t) => cipher.open(t).includes('frobnicateWidgets'))
    expect(sealed).toHaveLength(1)
    // an 80-character run of it is enough to find, and too long to occur by chance
    const needle = sealed[0]!.slice(0, 80)
    expect({ before: filesHolding(p.home, needle) }).not.toEqual({ before: [] })

    const rm = await p.cli(['docs', 'rm', 'zorbnotes/code'])
    expect(rm.code).toBe(0)
    expect(rm.stderr).toMatch(/Purging them from the store's files/)
    expect(filesHolding(p.home, needle)).toEqual([])
    // what stays is still there and found
    expect(await p.json(['docs', 'search', 'tomato seedlings'])).not.toEqual([])
  })

  it('{{docs}} in a run, docs: false, search_docs citations, forget --all, nothing readable', async () => {
    const p = project({ 'mirador.config.yaml': 'builtins:\n  memory: { embed: { runtime: use } }\n' })
    expect(await p.json(['docs', 'add', 'zorbnotes', '--exclude', 'code'])).toMatchObject({ added: 2, redacted: 1 })
    const garden = `${path.join('zorbnotes', 'garden-qx.md')}:5-8`

    // the bundled sentence encoder: the question shares almost no word with the passage
    const r = await p.cli(['chain', 'run', 'docs', 'When can my young plants go out into the garden?', '--json'])
    expect(r.code).toBe(0)
    const cited = r.events.find((e) => e.type === 'docs')
    expect(cited).toMatchObject({ stage: 'answer', cited: expect.arrayContaining([garden]) })
    expect(lastPrompt()).toContain(`[${garden}] Garden > Tomatoes\n## Tomatoes`)
    expect(lastPrompt()).toContain('Plant tomato seedlings outside after the last frost')

    const off = await p.cli(['chain', 'run', 'nodocs', 'When can my young plants go out?', '--json'])
    expect(off.events.some((e) => e.type === 'docs')).toBe(false)
    expect(lastPrompt()).toBe('\nWhen can my young plants go out?')

    const plain = await p.cli(['chain', 'run', 'docs', 'How do I reset the boiler?'])
    expect(plain.stdout).toMatch(/\[docs\] answer: cited zorbnotes\/boiler\.txt:1-2/)
    // secrets are redacted as in memories
    expect(lastPrompt()).toContain('wifi password: [REDACTED:PASSWORD]')

    const tool = await p.cli(['chain', 'run', 'docs', 'CALL search_docs {"query":"tomato seedlings frost"}', '--json'])
    const result = tool.events.find((e) => e.type === 'tool-result')
    expect(result).toMatchObject({ name: 'search_docs', ok: true })
    const value = result!.value as { results: { citation: string; text: string }[] }
    expect(value.results[0]).toMatchObject({ citation: garden, text: expect.stringContaining('tomato seedlings') })

    // nothing under $MIRADOR_HOME holds a line of a document, or its folder's or file's name
    for (const needle of ['Vellacourt', 'seedlings', 'Quillfeather', 'hunter22xyz', 'zorbnotes', 'garden-qx'])
      expect([needle, filesHolding(p.home, needle)]).toEqual([needle, []])
    // the check can fail: the text is there, sealed, and readable through Mirador
    expect((await p.cli(['docs', 'search', 'Quillfeather button'])).stdout).toMatch(/boiler\.txt:1-2/)

    const forgot = await p.cli(['memory', 'forget', '--all', '--yes'])
    expect(forgot.stdout).toMatch(/✓ forgot .*2 documents/)
    expect(await p.json(['docs', 'ls'])).toEqual({ roots: [] })
    expect(existsSync(path.join(p.home, 'docs', 'index.sealed'))).toBe(false)
  })

  it('another embedder: documents stay searchable until memory reindex embeds them again', async () => {
    const p = project()
    expect(await p.json(['docs', 'add', 'zorbnotes/garden-qx.md'])).toMatchObject({ added: 1 })
    writeFileSync(path.join(p.dir, 'mirador.config.yaml'), 'builtins:\n  memory: { embed: { runtime: use } }\n')
    // until reindexed, they are searched with the embedder that indexed them, as memories are
    const stale = await p.cli(['docs', 'search', 'tomatoes', '--json'])
    expect([stale.code, stale.stderr]).toEqual([0, ''])
    expect(JSON.parse(stale.stdout)).not.toEqual([])
    const re = await p.json(['memory', 'reindex'])
    expect(re.docs).toMatchObject({ added: 0, changed: 1, removed: 0, unchanged: 0, chunks: 3 })
    expect((await p.json(['docs', 'ls'])).embedder).toBe('use-lite/512')
    const found = await p.json(['docs', 'search', 'When can young plants go outside?', '--limit', '1'])
    expect(found.map((f: { citation: string }) => f.citation)).toEqual([
      `${path.join('zorbnotes', 'garden-qx.md')}:5-8`,
    ])
  })

  it('a run reading {{docs}} with nothing indexed gives it nothing and says nothing', async () => {
    const p = project()
    const r = await p.cli(['chain', 'run', 'docs', 'hello again', '--json'])
    expect(r.code).toBe(0)
    expect(r.events.some((e) => e.type === 'docs')).toBe(false)
    expect(lastPrompt()).toBe('\nhello again')
  })
})

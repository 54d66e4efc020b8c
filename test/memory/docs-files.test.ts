/**
 * The document index's pure parts: passages cut on headings and paragraphs with true line ranges,
 * the rules that choose a folder's files (default kinds, include/exclude globs, hidden folders,
 * size), and the ranking of passages with their citations.
 */
import { describe, expect, test } from '@jest/globals'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { chunkText } from '../../src/plugins/memory/docs/chunk.js'
import { createHashingEmbedder } from '../../src/lib/embedder.js'
import {
  citation,
  embedPassages,
  embedWindows,
  rankPassages,
  shownPath,
  toRecord,
} from '../../src/plugins/memory/docs/passages.js'
import { rootChooses, scanRoots } from '../../src/plugins/memory/docs/scan.js'
import type { Root } from '../../src/plugins/memory/docs/roots.js'

const MD = [
  '# Garden', // 1
  '', // 2
  'Intro to the garden.', // 3
  '', // 4
  '## Tomatoes', // 5
  '', // 6
  'Plant after the last frost.', // 7
  'Water twice a week.', // 8
  '', // 9
  '```sh', // 10
  '# not a heading', // 11
  '', // 12
  'water --deep', // 13
  '```', // 14
  '', // 15
  '### Pests', // 16
  'Aphids: soap spray.', // 17
].join('\n')

describe('passages', () => {
  test('Markdown: one section each, headings as a trail, line ranges that point at the lines', () => {
    const chunks = chunkText(MD, { markdown: true })
    expect(chunks.map((c) => [c.start, c.end, c.heading])).toEqual([
      [1, 3, 'Garden'],
      [5, 14, 'Garden > Tomatoes'],
      [16, 17, 'Garden > Tomatoes > Pests'],
    ])
    const lines = MD.split('\n')
    for (const c of chunks) expect(c.text).toBe(lines.slice(c.start - 1, c.end).join('\n'))
    // a # line inside a fenced block is code, not a heading
    expect(chunks[1]!.text).toContain('# not a heading')
  })

  test('paragraphs are packed up to the size, long ones cut between lines, a huge line into pieces', () => {
    const para = (n: number, word: string) => Array.from({ length: n }, () => `${word} `.repeat(9).trim()).join('\n')
    const text = [para(3, 'alpha'), '', para(3, 'beta'), '', para(40, 'gamma'), '', 'x'.repeat(2500)].join('\n')
    const chunks = chunkText(text, { markdown: false, maxChars: 600 })
    expect(chunks[0]).toMatchObject({ start: 1, end: 7, heading: '' })
    for (const c of chunks) expect(c.text.length).toBeLessThanOrEqual(600)
    const gamma = chunks.filter((c) => c.text.includes('gamma'))
    expect(gamma.length).toBeGreaterThan(1)
    expect(gamma[0]!.start).toBe(9)
    expect(gamma.at(-1)!.end).toBe(48)
    const huge = chunks.filter((c) => c.text.startsWith('xxx'))
    expect(huge.map((c) => [c.start, c.end, c.text.length])).toEqual([
      [50, 50, 600],
      [50, 50, 600],
      [50, 50, 600],
      [50, 50, 600],
      [50, 50, 100],
    ])
  })

  test('a text of blank lines has no passage', () => {
    expect(chunkText('\n\n  \n', { markdown: true })).toEqual([])
  })
})

describe('embedding a passage', () => {
  const long = { start: 1, end: 9, heading: 'Garden > Tomatoes', text: Array(60).fill('tomato seedling').join(' ') }

  test('in windows of at most 400 characters, cut at spaces, each headed by the file and headings', () => {
    const w = embedWindows('/n/garden.md', long)
    expect(w.length).toBe(3)
    for (const x of w) {
      expect(x.startsWith('garden.md > Garden > Tomatoes\n')).toBe(true)
      expect(x.length - 'garden.md > Garden > Tomatoes\n'.length).toBeLessThanOrEqual(400)
    }
    const body = w.map((x) => x.split('\n')[1]).join(' ')
    expect(body).toBe(long.text)
  })

  test('one vector a passage: its window alone, or the normalised mean of its windows', async () => {
    const e = createHashingEmbedder()
    const short = { start: 1, end: 1, heading: '', text: 'peppers like heat' }
    const [a, b] = await embedPassages(
      e,
      [
        { file: '/n/g.md', chunk: short },
        { file: '/n/g.md', chunk: long },
      ],
      2,
    )
    expect(a).toEqual((await e.embed(embedWindows('/n/g.md', short)))[0])
    const parts = await e.embed(embedWindows('/n/g.md', long))
    const mean = parts[0]!.map((_, d) => parts.reduce((n, v) => n + v[d]!, 0))
    const norm = Math.hypot(...mean)
    expect(b!.map((x) => x.toFixed(6))).toEqual(mean.map((x) => (x / norm).toFixed(6)))
  })
})

describe('which files a root chooses', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-docs-scan-'))
  const files: Record<string, string> = {
    'a.md': '# a',
    'b.ts': 'export {}',
    'c.png': 'png',
    README: 'readme',
    'drafts/d.md': 'draft',
    'sub/drafts/e.md': 'draft',
    'sub/f.txt': 'f',
    '.git/config': 'x',
    'node_modules/m/index.js': 'x',
    '.env': 'SECRET=1',
    'big.md': 'x'.repeat(5000),
  }
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true })
    writeFileSync(path.join(dir, f), text)
  }
  const root = (r: Partial<Root> = {}): Root => ({ path: dir, kind: 'dir', maxBytes: 4096, ...r })
  const names = async (r: Root) => [...(await scanRoots([r])).files.keys()].map((f) => path.relative(dir, f)).sort()

  test('by default: text and code, not hidden, node_modules or other kinds; too large: a note', async () => {
    const scan = await scanRoots([root()])
    expect(await names(root())).toEqual(['README', 'a.md', 'b.ts', 'drafts/d.md', 'sub/drafts/e.md', 'sub/f.txt'])
    expect(scan.skipped).toEqual([{ path: path.join(dir, 'big.md'), reason: expect.stringMatching(/over the 4 KB/) }])
    expect(scan.ignored).toBe(1)
  })

  test('include replaces the kinds; exclude leaves out files and whole folders at any depth', async () => {
    expect(await names(root({ include: ['*.md'], exclude: ['drafts'] }))).toEqual(['a.md'])
    expect(await names(root({ exclude: ['sub/**', '*.ts'] }))).toEqual(['README', 'a.md', 'drafts/d.md'])
    expect(await names(root({ include: ['*.png'] }))).toEqual(['c.png'])
  })

  test('rootChooses agrees with the walk, without walking', async () => {
    const r = root({ exclude: ['drafts'] })
    expect(await rootChooses(r, path.join(dir, 'sub/f.txt'))).toBe(true)
    expect(await rootChooses(r, path.join(dir, 'sub/drafts/e.md'))).toBe(false)
    expect(await rootChooses(r, path.join(dir, '.git/config'))).toBe(false)
    expect(await rootChooses(r, path.join(dir, 'c.png'))).toBe(false)
    expect(await rootChooses(r, path.join(os.tmpdir(), 'elsewhere.md'))).toBe(false)
  })
})

describe('ranking passages', () => {
  const file = { path: path.join(process.cwd(), 'notes', 'garden.md'), key: 'k1' }
  const hit = (id: string, text: string, start: number, distance: number) => {
    const r = toRecord(file, { start, end: start + 2, heading: 'Garden', text }, id, [1], 0)
    return { id, text: r.text, meta: r.meta, distance }
  }
  const hits = [
    hit('d_1', 'Plant tomato seedlings after the frost', 5, 0.5),
    hit('d_2', 'Peppers like heat', 9, 0.45),
    hit('d_gone', 'tomato tomato tomato', 20, 0.1),
  ]

  test('passages of files no longer indexed are left out; BM25 and the vector decide; no recency', () => {
    const found = rankPassages('tomato seedlings', hits, {
      embedderId: 'hashing-v1/384',
      k: 5,
      threshold: 0,
      current: new Set(['d_1', 'd_2']),
    })
    expect(found.map((p) => p.id)).toEqual(['d_1', 'd_2'])
    expect(found[0]).toMatchObject({
      start: 5,
      end: 7,
      heading: 'Garden',
      text: 'Plant tomato seedlings after the frost',
    })
    expect(citation(found[0]!)).toBe(`notes${path.sep}garden.md:5-7`)
  })

  test('the similarity threshold and k', () => {
    const opts = { embedderId: 'use-lite/512', k: 1, threshold: 0.52, current: new Set(['d_1', 'd_2']) }
    expect(rankPassages('anything', hits, opts).map((p) => p.id)).toEqual(['d_2'])
    expect(rankPassages('anything', hits, { ...opts, threshold: 0.6 })).toEqual([])
  })

  test('paths outside the working folder are shown whole', () => {
    expect(shownPath('/elsewhere/x.md', '/home/u')).toBe('/elsewhere/x.md')
    expect(shownPath('/home/u/n/x.md', '/home/u')).toBe('n/x.md')
  })
})

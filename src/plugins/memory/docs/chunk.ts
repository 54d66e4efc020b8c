/**
 * A document cut into passages a model can be given and a user can open: each passage holds whole
 * lines, with its first and last line numbers (1-based) for a `path:12-30` citation.
 *
 * Markdown is cut on its headings first (ATX `#` lines outside fenced code; a passage never spans
 * two sections, and carries the trail of headings above it: "Install > Linux"), then on paragraphs
 * (blank lines; a fenced block is one paragraph). Other text and source code have no headings:
 * paragraphs only. Paragraphs are packed together up to MAX_CHARS so a passage says something on
 * its own; a paragraph longer than that is cut between lines, and a single line longer than that
 * (minified code) is cut into pieces that keep its line number.
 */

/** a passage holds about this many characters at most (about 300 tokens) */
export const MAX_CHARS = 1200

export interface Chunk {
  /** first and last line, 1-based, inclusive */
  start: number
  end: number
  /** the headings above it, outermost first ("Install > Linux"); '' outside Markdown or before any */
  heading: string
  text: string
}

interface Block {
  start: number
  lines: string[]
}

const MARKDOWN = /\.(md|markdown|mdx|mdown|mkd)$/i
const ATX = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/
const FENCE = /^ {0,3}(`{3,}|~{3,})/

export function isMarkdown(file: string): boolean {
  return MARKDOWN.test(file)
}

/** The passages of `text` (see the module comment); none for a text of blank lines. */
export function chunkText(text: string, opts: { markdown: boolean; maxChars?: number }): Chunk[] {
  const max = opts.maxChars ?? MAX_CHARS
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)
  const out: Chunk[] = []
  for (const section of opts.markdown ? sections(lines) : [{ heading: '', start: 1, lines }]) {
    pack(paragraphs(section.lines, section.start, opts.markdown), max, section.heading, out)
  }
  return out
}

/** Markdown sections: each heading line starts one, and belongs to it. */
function sections(lines: string[]): { heading: string; start: number; lines: string[] }[] {
  const out: { heading: string; start: number; lines: string[] }[] = []
  const trail: string[] = []
  let current = { heading: '', start: 1, lines: [] as string[] }
  let fence = ''
  lines.forEach((line, i) => {
    const h = fence === '' ? ATX.exec(line) : null
    fence = fenceAfter(fence, line)
    if (h) {
      out.push(current)
      const level = h[1]!.length
      trail.length = Math.min(trail.length, level - 1)
      while (trail.length < level - 1) trail.push('')
      trail.push(h[2]!)
      current = { heading: trail.filter(Boolean).join(' > '), start: i + 1, lines: [] }
    }
    current.lines.push(line)
  })
  out.push(current)
  return out
}

/** The fence state after `line`: '' outside a fenced block, else the fence that opened it. */
function fenceAfter(fence: string, line: string): string {
  const f = FENCE.exec(line)
  if (!f) return fence
  if (fence === '') return f[1]!
  return f[1]![0] === fence[0] && f[1]!.length >= fence.length && line.trim() === f[1] ? '' : fence
}

/** Runs of non-blank lines; in Markdown a fenced block stays one paragraph, blank lines and all. */
function paragraphs(lines: string[], first: number, markdown: boolean): Block[] {
  const out: Block[] = []
  let block: Block | undefined
  let fence = ''
  lines.forEach((line, i) => {
    const inFence = fence !== ''
    if (markdown) fence = fenceAfter(fence, line)
    if (line.trim() === '' && !inFence) {
      block = undefined
      return
    }
    if (!block) {
      block = { start: first + i, lines: [] }
      out.push(block)
    }
    block.lines.push(line)
  })
  return out
}

/** Packs paragraphs into passages of at most `max` characters, cutting the ones too long for one. */
function pack(blocks: Block[], max: number, heading: string, out: Chunk[]): void {
  let cur: Block | undefined
  const flush = () => {
    if (cur && cur.lines.some((l) => l.trim() !== '')) {
      const text = cur.lines.join('\n').replace(/\s+$/, '')
      out.push({ start: cur.start, end: cur.start + cur.lines.length - 1, heading, text })
    }
    cur = undefined
  }
  const size = (b: Block) => b.lines.reduce((n, l) => n + l.length + 1, 0)
  for (const block of blocks.flatMap((b) => cut(b, max))) {
    // a blank line between two packed paragraphs keeps the line numbers true
    const gap = cur ? block.start - (cur.start + cur.lines.length) : 0
    if (cur && gap >= 0 && size(cur) + gap + size(block) <= max) {
      cur.lines.push(...Array<string>(gap).fill(''), ...block.lines)
      continue
    }
    flush()
    cur = { start: block.start, lines: [...block.lines] }
  }
  flush()
}

/** A paragraph as pieces of at most `max` characters: whole lines, or pieces of one long line. */
function cut(block: Block, max: number): Block[] {
  const out: Block[] = []
  let cur: Block | undefined
  let size = 0
  block.lines.forEach((line, i) => {
    const n = block.start + i
    if (line.length + 1 > max) {
      cur = undefined
      for (let at = 0; at < line.length; at += max) out.push({ start: n, lines: [line.slice(at, at + max)] })
      return
    }
    if (!cur || size + line.length + 1 > max) {
      cur = { start: n, lines: [] }
      size = 0
      out.push(cur)
    }
    cur.lines.push(line)
    size += line.length + 1
  })
  return out
}

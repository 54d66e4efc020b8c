import { Flags } from '@oclif/core'
import { bytes } from '../../cli/render/format.js'
import { displayWidth } from '../../cli/render/layout.js'
import { shownPath } from '../../plugins/memory/docs/passages.js'
import { MiradorCommand } from '../base.js'
import { plural, when } from '../memory/base.js'
import { docsSetup } from './base.js'

export default class DocsLs extends MiradorCommand {
  static summary = 'List the folders and files you added, with what was indexed; --files lists every file.'
  static description =
    'Each root (a folder or file given to `docs add`) with its rules, and its indexed files, passages and size. ' +
    'Paths below the working folder are shown relative to it.'
  static examples = [
    '<%= config.bin %> docs ls',
    '<%= config.bin %> docs ls --files',
    '<%= config.bin %> docs ls --json',
  ]
  static flags = {
    files: Flags.boolean({ description: 'List every indexed file: its lines, passages and when it was indexed.' }),
  }

  async run(): Promise<unknown> {
    const { flags } = await this.parse(DocsLs)
    const docs = await docsSetup(flags.config as string | undefined)
    const { embedder, roots, files } = await docs.list()
    if (!this.jsonEnabled()) {
      if (roots.length === 0) this.log('No documents are indexed: `mirador docs add PATH` adds a folder or a file.')
      else if (flags.files)
        this.table(
          ['FILE', 'LINES', 'PASSAGES', 'INDEXED (UTC)'],
          files.map((f) => [shownPath(f.path), String(f.lines), String(f.chunks), when(f.indexedAt)]),
        )
      else
        this.table(
          ['ROOT', 'FILES', 'PASSAGES', 'SIZE', 'RULES'],
          roots.map((r) => [
            shownPath(r.path) + (r.kind === 'dir' ? '/' : ''),
            String(r.files),
            String(r.chunks),
            bytes(r.bytes),
            rulesText(r),
          ]),
        )
      const passages = files.reduce((n, f) => n + f.chunks, 0)
      if (roots.length)
        this.log(`${plural(files.length, 'file')}, ${plural(passages, 'passage')}; embedded with ${embedder ?? '—'}`)
    }
    return {
      ...(embedder ? { embedder } : {}),
      roots: roots.map((r) => ({ ...r, path: shownPath(r.path) })),
      ...(flags.files
        ? {
            files: files.map((f) => ({
              path: shownPath(f.path),
              lines: f.lines,
              passages: f.chunks,
              bytes: f.size,
              indexedAt: new Date(f.indexedAt).toISOString(),
            })),
          }
        : {}),
    }
  }

  /** rows under a header, columns aligned */
  private table(header: string[], rows: string[][]): void {
    const widths = header.map((h, i) => Math.max(...[header, ...rows].map((r) => displayWidth(r[i]!))))
    const pad = (c: string, i: number) => (i < header.length - 1 ? c + ' '.repeat(widths[i]! - displayWidth(c)) : c)
    for (const r of [header, ...rows]) this.log(r.map(pad).join('  '))
  }
}

function rulesText(r: { include?: string[]; exclude?: string[]; maxBytes: number }): string {
  return [
    r.include?.length ? `include ${r.include.join(', ')}` : '',
    r.exclude?.length ? `exclude ${r.exclude.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ')
}

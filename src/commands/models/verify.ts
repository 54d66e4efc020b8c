import path from 'node:path'
import { Args, Flags } from '@oclif/core'
import { progressBar, type Progress } from '../../cli/progress.js'
import { MiradorError } from '../../engine/errors.js'
import type { FileReport } from '../../plugins/models/verify.js'
import { MiradorCommand } from '../base.js'
import { gb, modelsSetup } from './base.js'

interface EntryReport {
  name: string
  runtime: string
  ok: boolean
  files: (Omit<FileReport, 'error'> & { error?: Record<string, unknown> })[]
  /** the entry itself did not resolve (a path outside the project, an unset variable) */
  error?: Record<string, unknown>
}

export default class ModelsVerify extends MiradorCommand {
  static summary =
    "Check the manifest's model and adapter files: GGUF header and tensor table, fit to the base, sha256 pins."
  static description =
    'What Mirador checks before it loads a file, done now for every entry (or the NAMEs given), loading nothing: ' +
    'each GGUF base and adapter is a regular file whose header and tensor table parse within its size and whose ' +
    'tensor data lies inside it (a truncated download is caught here); an adapter is a LoRA adapter for its ' +
    "base's architecture and layers; a file pinned with sha256 in the manifest is hashed and must match. " +
    'Hashes are cached in $MIRADOR_HOME/models/verified.json by path, size, mtime and inode: --rehash ignores ' +
    'the cache, --hash also hashes unpinned files and prints the pin to add. Ollama entries have no local base ' +
    'file (Ollama checks what it pulls); their adapters are checked. The status is 1 if any file fails.'
  static strict = false
  static examples = [
    '<%= config.bin %> models verify',
    '<%= config.bin %> models verify story poet',
    '<%= config.bin %> models verify --hash',
    '<%= config.bin %> models verify --rehash --json',
  ]
  static args = { name: Args.string({ description: 'manifest entries to check (default: every entry)' }) }
  static flags = {
    hash: Flags.boolean({ description: 'hash unpinned files too, and print the sha256 to pin', default: false }),
    rehash: Flags.boolean({ description: 'hash pinned files again, whatever the cache says', default: false }),
  }

  async run(): Promise<{ ok: boolean; manifest: string | null; entries: EntryReport[] }> {
    const { argv, flags } = await this.parse(ModelsVerify)
    const s = await modelsSetup(flags.config as string | undefined)
    const all = await s.models.entries()
    const names = argv as string[]
    const unknown = names.filter((n) => !all.some((e) => e.name === n))
    if (unknown.length)
      throw new MiradorError(
        'USAGE',
        `${unknown.join(', ')}: not in the manifest (${s.manifest ?? 'none'}). ` +
          `Its entries: ${all.map((e) => e.name).join(', ') || 'none'}`,
      )
    const verifier = s.models.verifier()
    let bar: { file: string; progress: Progress } | undefined
    const onProgress = ({ file, done, total }: { file: string; done: number; total: number }) => {
      if (bar?.file !== file) {
        bar?.progress.end()
        const label = `sha256 ${path.basename(file)}`
        bar = { file, progress: progressBar({ label, unit: 'MB', quiet: this.jsonEnabled() }) }
      }
      bar.progress.update(Math.round(done / 1e6), Math.round(total / 1e6))
    }
    const entries: EntryReport[] = []
    for (const { name, resolved, error } of all.filter((e) => !names.length || names.includes(e.name))) {
      if (!resolved) {
        entries.push({ name, runtime: '?', ok: false, files: [], error: error!.toJSON() })
        continue
      }
      const files = await verifier.check(resolved, { onProgress, rehash: flags.rehash, hashAll: flags.hash })
      bar?.progress.end()
      bar = undefined
      entries.push({
        name,
        runtime: resolved.runtime,
        ok: files.every((f) => !f.error),
        files: files.map(({ error: e, ...f }) => ({ ...f, ...(e && { error: e.toJSON() }) })),
      })
    }
    const ok = entries.every((e) => e.ok)
    if (!this.jsonEnabled()) this.print(s.manifest, entries, all)
    if (!ok) process.exitCode = 1
    await s.engine.dispose()
    return { ok, manifest: s.manifest ?? null, entries }
  }

  private print(manifest: string | undefined, entries: EntryReport[], all: { name: string }[]): void {
    this.log(`manifest  ${manifest ?? '(none: model names are Ollama tags)'}`)
    for (const e of entries) {
      const mark = e.ok ? (e.files.length ? '✓' : '-') : '✗'
      if (e.error) {
        this.log(`${mark} ${e.name.padEnd(14)} ${String(e.error.code)}: ${formatted(e.error)}`)
        continue
      }
      if (!e.files.length) {
        this.log(`${mark} ${e.name.padEnd(14)} ${e.runtime}: no local file to check (Ollama checks what it pulls)`)
        continue
      }
      e.files.forEach((f, i) => {
        const head = i === 0 ? `${mark} ${e.name.padEnd(14)}` : ' '.repeat(16)
        const file = `${f.role.padEnd(7)} ${path.basename(f.path)}`
        if (f.error) {
          this.log(`${head} ${file}`)
          this.log(`    ✗ ${String(f.error.code)}: ${formatted(f.error)}`)
          return
        }
        const what = f.gguf
          ? `GGUF v${f.gguf.version}, ${f.gguf.architecture ?? '?'} ${f.gguf.type}, ${f.gguf.tensors} tensors`
          : (f.note ?? '')
        this.log(`${head} ${file}  ${gb(f.bytes ?? null)}  ${what}  ${pinText(f)}`)
        if (f.compared) this.log(`    compared with the base: ${f.compared}`)
        else if (f.gguf && f.note) this.log(`    ${f.note}`)
      })
    }
    const failed = entries.filter((e) => !e.ok).length
    const of = entries.length === all.length ? '' : ` of ${all.length}`
    this.log(`${entries.length}${of} entries checked: ${failed ? `${failed} failed` : 'all passed'}.`)
  }
}

function pinText(f: EntryReport['files'][number]): string {
  const h = f.sha256
  if (!h) return 'sha256 not pinned'
  const cached = h.cached ? ', from the cache' : ''
  if (h.pinned) return `sha256 pinned, matches${cached}`
  const pin = f.role === 'base' ? `sha256: ${h.actual}` : `lora: { file: …, sha256: ${h.actual} }`
  return `sha256 ${h.actual}${cached} (not pinned: write ${pin})`
}

/** `file:line:col: message` of an error's JSON form */
function formatted(e: Record<string, unknown>): string {
  const l = e.location as { file: string; line: number; column: number } | undefined
  return l ? `${l.file}:${l.line}:${l.column}: ${String(e.message)}` : String(e.message)
}

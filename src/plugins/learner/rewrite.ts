/**
 * Rewrites one learned weight in a chain file, in place, keeping everything else byte for byte.
 *
 *   updateChainWeight(file, 'planning', (w) => (w ?? 0.5) * 0.9 + 0.1, { home })
 *
 * What happens, under the chain file's lock (./backups.ts: one lock file per real path under
 * `$MIRADOR_HOME/learner/locks/`, so concurrent raters in any number of processes never lose an
 * update):
 *
 * 1. The file is read as it is on disk now, so hand edits made since the last rewrite are kept and
 *    the update applies to the current value. A read-only file (no write bit, or not writable by
 *    this process) is refused with USAGE; a file that does not load as a valid chain is refused
 *    with CONFIG_INVALID (CONFIG_NOT_FOUND when it is gone). Either way nothing is written, and
 *    `details.skipped` is true: the caller reports it and moves on.
 * 2. The file is parsed with the yaml Document API (the same safe loader and schema as every chain:
 *    `loadConfigText`). The Document is used to find where `weights.<type>` is — its source range
 *    — and the new value is spliced into the text at exactly that range. Re-serialising the whole
 *    Document (`doc.toString()`) would keep comments but re-flow indentation, quoting, blank lines
 *    and flow maps; splicing keeps every other byte of the file as the user wrote it (comments,
 *    order, quoting, flow or block style, anchors, CRLF line ends, a UTF-8 BOM).
 *    - an existing entry: only its value's characters change (a tag or anchor before it stays);
 *    - a new type in a block map: a line `<indent><type>: <value>` after the map's last entry;
 *    - a new type in a flow map: `, <type>: <value>` after its last entry (`{ t: v }` if empty);
 *    - no `weights:` at all: a block map appended at the end of the document (before a `...`
 *      end marker if any), indented like the file's other nested maps; into a flow top level
 *      when the whole document is one flow map.
 *    Keys that YAML would read as something else than the string (`123`, `true`, `1e3`) are
 *    written double-quoted. Line ends of added lines follow the file (CRLF if it uses CRLF).
 * 3. `update(current)` must return a finite number in [0, 1] (else USAGE, nothing written); it is
 *    rounded to 4 decimals. If the rounded value equals the current one, nothing is written.
 * 4. The new text is validated as a chain again, and its value must equal the old value with only
 *    `weights.<type>` changed (this catches layouts the splice cannot handle safely, such as a
 *    weight anchored and reused elsewhere: refused with CONFIG_INVALID, file untouched).
 * 5. The previous bytes are saved as a backup (./backups.ts), then the new text is written with
 *    writeFileAtomic (temp file, fsync, rename, folder fsync) and given the file's previous mode.
 *    If the file changed on disk while this ran (an editor saved it), the whole update is redone
 *    on the new text (up to 3 times). Temp files left by a process killed mid-write are removed.
 *
 * Symlinked chain files are followed: the real file is rewritten, the link stays a link.
 */
import { stat } from 'node:fs/promises'
import type { Document, Node, Pair, YAMLMap } from 'yaml'
import { yaml } from '../../engine/config/yaml-lib.js'
import path from 'node:path'
import { MiradorError } from '../../engine/errors.js'
import {
  getSchema,
  LIMITS,
  loadConfigText,
  readConfigText,
  type ChainFile,
  type Loaded,
} from '../../engine/config/index.js'
import {
  fileState,
  readOnlyError,
  realChainPath,
  type RatingRef,
  removeDeadTemps,
  replaceFile,
  saveBackup,
  withChainLock,
} from './backups.js'

export interface UpdateWeightOptions {
  /** $MIRADOR_HOME: where the lock and backups live */
  home: string
  /** stage keys contributed by plugins, so chains using them validate */
  extraStageProperties?: Record<string, object>
  /** the rating this update applies, kept with the backup so a rollback can say which rating it undid */
  rating?: RatingRef
}

export interface UpdateWeightResult {
  before: number | undefined
  after: number
  changed: boolean
}

/** Decimal places weights are written with. */
export const WEIGHT_DECIMALS = 4

const BOM = '\uFEFF'
const MAX_ATTEMPTS = 3

export function roundWeight(v: number): number {
  const f = 10 ** WEIGHT_DECIMALS
  return Math.round(v * f) / f
}

/** How a weight is written: the shortest decimal of the rounded number (`0.5`, `0.1235`, `1`). */
export function formatWeight(v: number): string {
  return String(roundWeight(v))
}

let typeCheck: ((t: string) => boolean) | undefined
/** Whether `type` is a valid query type name (the chain schema's `weights.propertyNames`). */
export function isValidType(type: string): boolean {
  if (!typeCheck) {
    const names = ((getSchema('chain').properties as Record<string, Record<string, unknown>>).weights!.propertyNames ??
      {}) as {
      pattern?: string
      not?: { enum?: string[] }
    }
    const re = new RegExp(names.pattern ?? '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$', 'u')
    const banned = new Set(names.not?.enum ?? [])
    typeCheck = (t) => re.test(t) && !banned.has(t)
  }
  return typeCheck(type)
}

/** Updates `weights.<type>` of the chain file `file`; see the file comment. */
export async function updateChainWeight(
  file: string,
  type: string,
  update: (current: number | undefined) => number | Promise<number>,
  opts: UpdateWeightOptions,
): Promise<UpdateWeightResult> {
  if (typeof type !== 'string' || !isValidType(type)) {
    throw new MiradorError(
      'USAGE',
      `${JSON.stringify(type)} is not a valid query type name for a chain's weights ` +
        '(a letter or digit followed by letters, digits, _, . or -, at most 64 characters).',
      { details: { file, type } },
    )
  }
  const real = await realChainPath(file)
  return withChainLock(real, opts.home, async () => {
    for (let attempt = 1; ; attempt++) {
      const out = await updateOnce(file, real, type, update, opts)
      if (out !== 'retry') return out
      if (attempt >= MAX_ATTEMPTS) {
        throw new MiradorError(
          'USAGE',
          `${file} kept changing while the learner updated it; weights.${type} was not updated. ` +
            'Try again once it is saved.',
          {
            details: { file, type, skipped: true },
          },
        )
      }
    }
  })
}

async function updateOnce(
  file: string,
  real: string,
  type: string,
  update: (current: number | undefined) => number | Promise<number>,
  opts: UpdateWeightOptions,
): Promise<UpdateWeightResult | 'retry'> {
  const state = await fileState(real)
  if (!state) {
    await readConfigText(file) // throws the precise CONFIG_NOT_FOUND
    throw new MiradorError('CONFIG_NOT_FOUND', `${file} is not a regular file.`, { details: { file, skipped: true } })
  }
  if (state.readOnly) throw readOnlyError(file, `updating weights.${type}`)

  const { bom, text } = await decode(state.bytes, real)
  const loadOpts = opts.extraStageProperties ? { extraStageProperties: opts.extraStageProperties } : {}
  let loaded: Loaded<ChainFile>
  try {
    loaded = loadConfigText<ChainFile>(text, file, 'chain', loadOpts)
  } catch (err) {
    throw invalidError(file, type, err)
  }

  const before = currentWeight(loaded.value, type)
  const raw = await update(before)
  if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < 0 || raw > 1) {
    throw new MiradorError(
      'USAGE',
      `the new weight for ${type} in ${file} must be a number between 0 and 1, not ${String(raw)}; ` +
        'the file was not changed.',
      {
        details: { file, type, value: String(raw) },
      },
    )
  }
  const after = roundWeight(raw)
  if (before === after) return { before, after, changed: false }

  const next = setWeightText(text, loaded.doc, type, after)
  let reloaded: Loaded<ChainFile>
  try {
    reloaded = loadConfigText<ChainFile>(next, file, 'chain', loadOpts)
  } catch (err) {
    throw new MiradorError(
      'CONFIG_INVALID',
      `${file}: the learner could not set weights.${type} (${MiradorError.from(err).format()}); ` +
        'the file was left unchanged.',
      { cause: err, details: { file, type, reason: 'rewrite-invalid', skipped: true } },
    )
  }
  const expected = { ...loaded.value } as ChainFile & { weights?: Record<string, number> }
  expected.weights = { ...(expected.weights ?? {}), [type]: after }
  if (!samePlain(reloaded.value, expected)) {
    throw new MiradorError(
      'CONFIG_INVALID',
      `${file}: setting weights.${type} in place would change more than that weight ` +
        '(is it an anchor used elsewhere, or an unusual layout?); the file was left unchanged. ' +
        'Write the weight as a plain number to let the learner update it.',
      { details: { file, type, reason: 'layout', skipped: true } },
    )
  }

  // an editor may have saved the file since we read it: start again on its new text
  const now = await stat(real).catch(() => undefined)
  if (!now || now.ino !== state.ino || now.size !== state.size || now.mtimeMs !== state.mtimeMs) return 'retry'

  await saveBackup(real, state.bytes, opts.home, opts.rating)
  await replaceFile(real, (bom ? BOM : '') + next, state.mode)
  await removeDeadTemps(path.dirname(real), `.${path.basename(real)}.`)
  return { before, after, changed: true }
}

async function decode(bytes: Buffer, real: string): Promise<{ bom: boolean; text: string }> {
  let text: string | undefined
  if (bytes.length <= LIMITS.maxBytes) {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
    } catch {
      text = undefined
    }
  }
  if (text === undefined) {
    // let the config reader say exactly what is wrong (too large, not UTF-8)
    try {
      await readConfigText(real)
    } catch (err) {
      throw invalidError(real, undefined, err)
    }
    throw invalidError(real, undefined, new MiradorError('CONFIG_SYNTAX', 'cannot be read as UTF-8 text'))
  }
  const bom = text.startsWith(BOM)
  return { bom, text: bom ? text.slice(1) : text }
}

function invalidError(file: string, type: string | undefined, err: unknown): MiradorError {
  const e = MiradorError.from(err, 'CONFIG_INVALID')
  if (e.code === 'CONFIG_NOT_FOUND') return e
  const what = type ? `weights.${type} was not updated` : 'its weights were not updated'
  return new MiradorError(
    'CONFIG_INVALID',
    `${e.format()} (not a valid chain, so ${what} and the file was left unchanged; ` +
      '`mirador chain validate` lists the problems).',
    {
      cause: err,
      details: { file, reason: e.code, skipped: true, ...(type ? { type } : {}) },
    },
  )
}

/**
 * Deep equality of plain YAML values (maps, lists, scalars), ignoring key order and prototypes
 * (values may come from different realms, e.g. under jest).
 */
function samePlain(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b)
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a)) {
    const bb = b as unknown[]
    return a.length === bb.length && a.every((v, i) => samePlain(v, bb[i]))
  }
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  return ka.every(
    (k) =>
      Object.prototype.hasOwnProperty.call(b, k) &&
      samePlain((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  )
}

function currentWeight(value: ChainFile, type: string): number | undefined {
  const w = (value as { weights?: Record<string, unknown> }).weights
  if (!w || !Object.prototype.hasOwnProperty.call(w, type)) return undefined
  const v = w[type]
  return typeof v === 'number' ? v : undefined
}

// ---------------------------------------------------------------------------------------------
// the text splice

/** Line end used by the file: CRLF if its first line ends so, else LF. */
function lineEnd(text: string): string {
  const i = text.indexOf('\n')
  return i > 0 && text[i - 1] === '\r' ? '\r\n' : '\n'
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1
}

function column(text: string, offset: number): number {
  return offset - lineStart(text, offset)
}

/** A key written so that YAML reads it back as exactly this string. */
export function keySource(key: string): string {
  let plain: unknown
  try {
    plain = yaml().parse(key, { version: '1.2', schema: 'core' })
  } catch {
    plain = undefined
  }
  return plain === key && !/[:#,[\]{}&*!|>'"%@`]/.test(key) ? key : JSON.stringify(key)
}

function keyOf(pair: Pair): string | undefined {
  const k = pair.key as Node | null
  return yaml().isScalar(k) ? String(k.value) : undefined
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  return (map.items as Pair[]).find((p) => keyOf(p) === key)
}

function endOf(node: unknown): number | undefined {
  const r = (node as Node | null)?.range
  return r ? r[1] : undefined
}

/** Where a new line goes after the entry ending at `valueEnd`: just after the end of that line. */
function afterLine(text: string, valueEnd: number, eol: string): { at: number; prefix: string } {
  const nl = text.indexOf('\n', valueEnd)
  return nl < 0 ? { at: text.length, prefix: eol } : { at: nl + 1, prefix: '' }
}

/** Indentation step of the file: the first nested block map's key column minus its parent's. */
function indentUnit(text: string, top: YAMLMap): number {
  for (const p of top.items as Pair[]) {
    const v = p.value as Node | null
    if (yaml().isMap(v) && !v.flow && v.items.length > 0) {
      const k = (v.items[0] as Pair).key as Node | null
      const pk = p.key as Node | null
      if (k?.range && pk?.range) {
        const d = column(text, k.range[0]) - column(text, pk.range[0])
        if (d > 0 && d <= 8) return d
      }
    }
  }
  return 2
}

/** The indentation text of the line holding `offset`, if that line is blank up to it. */
function indentAt(text: string, offset: number): string {
  const s = text.slice(lineStart(text, offset), offset)
  return /^ *$/.test(s) ? s : ' '.repeat(s.length)
}

function splice(text: string, at: number, end: number, insert: string): string {
  return text.slice(0, at) + insert + text.slice(end)
}

/** Inserts `key: value` as the last entry of a flow map. */
function insertIntoFlow(text: string, map: YAMLMap, entry: string): string {
  const last = (map.items as Pair[]).at(-1)
  const lastEnd = last ? (endOf(last.value) ?? endOf(last.key)) : undefined
  if (last && lastEnd !== undefined) return splice(text, lastEnd, lastEnd, `, ${entry}`)
  const open = map.range![0] // the `{`
  const close = text.indexOf('}', open)
  // `{}` or `{ }` becomes `{ entry }`; anything else inside (a comment) is kept after the entry
  if (close > open && /^\s*$/.test(text.slice(open + 1, close))) return splice(text, open + 1, close, ` ${entry} `)
  return splice(text, open + 1, open + 1, ` ${entry}`)
}

/** The new text with `weights.<type>` set to `value`. */
export function setWeightText(text: string, doc: Document, type: string, value: number): string {
  const top = doc.contents as YAMLMap
  const eol = lineEnd(text)
  const v = formatWeight(value)
  const weightsPair = findPair(top, 'weights')
  const weights = weightsPair?.value as Node | null | undefined
  if (weightsPair && yaml().isAlias(weights)) {
    throw new MiradorError(
      'CONFIG_INVALID',
      `weights: is an alias (*${weights.source}); the learner does not rewrite shared maps. ` +
        'Write the weights map out in full.',
      {
        details: { type, reason: 'layout', skipped: true },
      },
    )
  }
  if (weightsPair && yaml().isMap(weights)) {
    const pair = findPair(weights, type)
    if (pair) {
      const node = pair.value as Node | null
      if (!node?.range) throw new MiradorError('INTERNAL', `weights.${type} has no source position`)
      return splice(text, node.range[0], node.range[1], v)
    }
    const entry = `${keySource(type)}: ${v}`
    if (weights.flow) return insertIntoFlow(text, weights, entry)
    const first = weights.items[0] as Pair | undefined
    const last = weights.items.at(-1) as Pair | undefined
    const firstKey = first?.key as Node | null | undefined
    const lastEnd = last ? (endOf(last.value) ?? endOf(last.key)) : undefined
    if (!firstKey?.range || lastEnd === undefined)
      throw new MiradorError('INTERNAL', 'the weights map has no source position')
    const { at, prefix } = afterLine(text, lastEnd, eol)
    return splice(text, at, at, `${prefix}${indentAt(text, firstKey.range[0])}${entry}${eol}`)
  }
  if (weightsPair) {
    // validation guarantees a map; anything else is a bug
    throw new MiradorError('INTERNAL', 'weights: is not a map')
  }

  // no weights map: add one
  const entry = `${keySource(type)}: ${v}`
  if (top.flow) return insertIntoFlow(text, top, `weights: { ${entry} }`)
  const firstKey = (top.items[0] as Pair | undefined)?.key as Node | null | undefined
  const baseIndent = firstKey?.range ? indentAt(text, firstKey.range[0]) : ''
  const unit = ' '.repeat(indentUnit(text, top))
  const block = `weights:${eol}${baseIndent}${unit}${entry}`
  const contentEnd = top.range?.[2] ?? text.length
  const marker = /(^|\n)\.\.\.[ \t]*(\r?\n|#|$)/.exec(text.slice(contentEnd))
  if (marker) {
    const at = contentEnd + marker.index + marker[1]!.length
    return splice(text, at, at, `${baseIndent}${block}${eol}`)
  }
  const needsEol = text.length > 0 && !text.endsWith('\n')
  return `${text}${needsEol ? eol : ''}${baseIndent}${block}${needsEol ? '' : eol}`
}

/**
 * Parses one file with acorn, the way Node would run it: as an ES module (.mjs, and .js first),
 * else as a script (.cjs first: CommonJS allows `return` at the top and sloppy-mode syntax). A
 * file that parses neither way is reported with the error of the attempt that got furthest.
 */
import { parse, type Options, type Program } from 'acorn'

export type ParseOutcome = { ok: true; ast: Program } | { ok: false; message: string; offset: number }

const COMMON: Options = { ecmaVersion: 'latest', allowHashBang: true }
const MODULE: Options = { ...COMMON, sourceType: 'module' }
const SCRIPT: Options = { ...COMMON, sourceType: 'script', allowReturnOutsideFunction: true }

function attempt(text: string, options: Options): ParseOutcome {
  try {
    return { ok: true, ast: parse(text, options) }
  } catch (err) {
    const e = err as SyntaxError & { pos?: number }
    // acorn appends " (line:column)"; the finding carries its own position
    return { ok: false, message: e.message.replace(/ \(\d+:\d+\)$/, ''), offset: e.pos ?? 0 }
  }
}

export function parseSource(file: string, text: string): ParseOutcome {
  const order = file.endsWith('.cjs') ? [SCRIPT, MODULE] : file.endsWith('.mjs') ? [MODULE] : [MODULE, SCRIPT]
  let furthest: ParseOutcome | undefined
  for (const options of order) {
    const r = attempt(text, options)
    if (r.ok) return r
    if (!furthest || (!furthest.ok && r.offset > furthest.offset)) furthest = r
  }
  return furthest!
}

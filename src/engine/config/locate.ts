/**
 * Maps a path in the loaded value (`['stages', 'deep', 'options', 'temperature']`) back to the
 * YAML node it came from, and that node to `file:line:column`. Used for schema errors and for
 * semantic errors found later (graph cycles, unknown models…).
 */
import type { Document, LineCounter, Node } from 'yaml'
import { yaml } from './yaml-lib.js'
import type { SourceLocation } from './types.js'

export type PathSegment = string | number

interface Locatable {
  file: string
  doc: Document
  lineCounter: LineCounter
}

/** 1-based position of a character offset. */
export function offsetToLocation(file: string, lineCounter: LineCounter, offset: number): SourceLocation {
  const p = lineCounter.linePos(Math.max(0, offset))
  return p.line === 0 ? { file, line: 1, column: offset + 1 } : { file, line: p.line, column: p.col }
}

/** The text of a map key, as `toJS` would turn it into an object key. */
export function keyText(key: unknown): string {
  if (yaml().isScalar(key)) return String(key.value)
  if (key === null || key === undefined) return ''
  return String(key)
}

export interface FoundNode {
  /** the deepest node reached along the path (null when the value is empty, e.g. `model:`) */
  node: Node | null
  /** the key node of the last map entry reached, if the last step went through a map */
  key: Node | null
  /** how many path segments were matched */
  matched: number
}

/** Walks `path` down the document. Aliases are followed to their anchored node. */
export function findNode(doc: Document, path: readonly PathSegment[]): FoundNode {
  let node = (doc.contents ?? null) as Node | null
  let key: Node | null = null
  let matched = 0
  for (const seg of path) {
    if (yaml().isAlias(node)) node = (node.resolve(doc) ?? node) as Node
    if (yaml().isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(seg))
      if (!pair) break
      key = (pair.key ?? null) as Node | null
      node = (pair.value ?? null) as Node | null
    } else if (yaml().isSeq(node)) {
      const i = typeof seg === 'number' ? seg : Number(seg)
      if (!Number.isInteger(i) || i < 0 || i >= node.items.length) break
      key = null
      node = (node.items[i] ?? null) as Node | null
    } else break
    matched++
  }
  return { node, key, matched }
}

function startOf(n: Node | null): number | undefined {
  return n?.range ? n.range[0] : undefined
}

/**
 * `file:line:column` of the node at `path` (1-based). With `target: 'key'`, the key of the last
 * map entry rather than its value (for unknown keys and bad names). When the path goes further
 * than the document, the deepest node found is used.
 */
export function locate(
  loaded: Locatable,
  path: readonly PathSegment[],
  target: 'value' | 'key' = 'value',
): SourceLocation {
  const { node, key, matched } = findNode(loaded.doc, path)
  let offset: number | undefined
  if (matched < path.length) offset = startOf(key) ?? startOf(node)
  else if (target === 'key') offset = startOf(key) ?? startOf(node)
  else {
    // an empty value (`model:`) has a zero-width range right after the colon; point at the key instead
    const empty = yaml().isScalar(node) && node.value === null && node.range && node.range[0] === node.range[1]
    offset = empty ? (startOf(key) ?? startOf(node)) : (startOf(node) ?? startOf(key))
  }
  return offsetToLocation(loaded.file, loaded.lineCounter, offset ?? 0)
}

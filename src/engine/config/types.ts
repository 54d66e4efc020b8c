import type { Document, LineCounter } from 'yaml'

/** A JSON Schema, or a part of one, as parsed from schemas/*.schema.json (plain JSON objects). */
export type Schema = Record<string, unknown>

/** Which schema a file is checked against. */
export type ConfigKind = 'chain' | 'manifest' | 'config' | 'profile' | 'tool' | 'federation-group'

/** A position in a file: 1-based line and column; `file` is the path exactly as the caller gave it. */
export interface SourceLocation {
  file: string
  line: number
  column: number
}

/** A loaded, validated YAML file: its plain value plus the Document and LineCounter to locate nodes later. */
export interface Loaded<T> {
  file: string
  value: T
  doc: Document
  lineCounter: LineCounter
}

export interface LoadOptions {
  /**
   * Extra stage keys contributed by plugins (chain files only): each key's JSON Schema is added to
   * the stage's `properties`. Compiled variants are cached per distinct set.
   */
  extraStageProperties?: Record<string, object>
}

export interface ValidationResult {
  ok: boolean
  errors: import('../errors.js').MiradorError[]
  value?: unknown
}

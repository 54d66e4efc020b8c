/** The shapes the static analyzer hands out. */

export type Severity = 'error' | 'warning' | 'info'

/** The permission (of a plugin's declared `permissions`) a finding would need; none for what no permission grants. */
export type Permission =
  | { kind: 'fs.read'; path?: string }
  | { kind: 'fs.write'; path?: string }
  | { kind: 'network'; host?: string }
  | { kind: 'env'; name?: string }
  | { kind: 'childProcess' }

export interface Finding {
  rule: RuleId
  severity: Severity
  file: string
  /** 1-based */
  line: number
  /** 1-based, in UTF-16 code units like an editor's */
  column: number
  message: string
  permission?: Permission
}

/**
 * Who the code is for, which sets severities: a plugin runs in Node (what it does needs a
 * permission), a tool in an isolate with no Node API at all (an import or a network call cannot
 * work, so it is an error).
 */
export type Profile = 'plugin' | 'tool'

export interface AnalyzeOptions {
  profile?: Profile
  /** files larger than this are skipped, with a finding (default 5 MB) */
  maxFileBytes?: number
  /** findings kept per file, then one `findings-capped` (default 100) */
  maxFindingsPerFile?: number
  /** files looked at in all (default 20,000) */
  maxFiles?: number
}

export type RuleId =
  | 'parse-error'
  | 'skipped-file'
  | 'findings-capped'
  | 'import'
  | 'node-global'
  | 'child-process'
  | 'network'
  | 'unsafe-module'
  | 'computed-import'
  | 'fs-write'
  | 'fs-read'
  | 'process-binding'
  | 'env'
  | 'eval'
  | 'new-function'
  | 'tamper'
  | 'encoded-string'
  | 'high-entropy-string'
  | 'char-codes'
  | 'escaped-string'
  | 'obfuscated-names'

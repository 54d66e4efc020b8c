/**
 * The one error class of Mirador. Every failure a user can see carries a stable `code` (documented,
 * safe to match on in scripts) and a message that says what to do next.
 */
export const ERROR_CODES = {
  CONFIG_NOT_FOUND: 'a config file or chain does not exist',
  CONFIG_TOO_LARGE: 'a config file is over the size limit',
  CONFIG_SYNTAX: 'a YAML file does not parse',
  CONFIG_UNSAFE: 'a YAML file uses a feature Mirador refuses (tags, too many aliases, deep nesting, YAML 1.1)',
  CONFIG_INVALID: 'a YAML file does not match its schema',
  CHAIN_GRAPH: 'the stages of a chain do not form a valid graph',
  CHAIN_NAME_CONFLICT: 'two chain files of one folder claim the same chain name',
  TEMPLATE: 'a prompt template refers to something that does not exist',
  MODEL_UNRESOLVED: 'no runtime could provide the model a stage names',
  MODEL_MISSING: 'the model is not present and may not be pulled',
  MODEL_BUDGET: 'the model is larger than the memory budget of models/manifest.yaml',
  MODEL_INVALID:
    'a model or adapter file fails its checks before loading (not GGUF, truncated, corrupt, ' +
    'made for another base model, or not the sha256 the manifest pins)',
  MODEL_DOWNLOAD:
    'a model file could not be downloaded (offline, no network, the hub refused it, or the download was cut off)',
  RUNTIME_UNREACHABLE: 'the model server cannot be reached',
  RUNTIME_TIMEOUT: 'the model server did not answer in time',
  RUNTIME_PROTOCOL: 'the model server answered with something Mirador cannot read',
  RUNTIME_FAILED: 'the model runtime reported an error',
  RUNTIME_LOAD: 'a local model file could not be loaded',
  STAGE_FORMAT: "a stage's answer is not the JSON its `format` asks for",
  ABORTED: 'the run was cancelled',
  TOOL_NOT_FOUND: 'a stage names a tool that does not exist',
  TOOL_INVALID: "a tool call's arguments do not match the tool's parameters",
  TOOL_TIMEOUT: 'a tool ran past its time limit',
  TOOL_MEMORY: 'a tool used more memory than its limit',
  TOOL_OUTPUT: 'a tool returned something too large or not JSON',
  TOOL_FAILED: 'a tool threw an error',
  TOOL_CRASH: 'the sandbox running a tool died',
  MCP_UNAPPROVED: "an MCP server named by the project's config is not approved yet (mirador mcp approve NAME)",
  MEMORY_UNAVAILABLE: 'the memory store cannot be reached or started',
  MEMORY_CRYPTO: 'stored memory cannot be decrypted (wrong key or passphrase, or tampered data)',
  PLUGIN_LOAD: 'a plugin could not be loaded',
  PLUGIN_API: 'a plugin declares an apiVersion this Mirador does not support',
  PLUGIN_OPTIONS: 'a plugin was given options its schema rejects',
  PLUGIN_FAILED: 'a plugin threw while it ran',
  PLUGIN_MANIFEST: "a plugin's package.json has no valid `mirador` manifest",
  PLUGIN_UNDECLARED: 'a plugin tapped a hook or used a capability its manifest does not declare',
  PLUGIN_UNAPPROVED: 'a plugin named by the project is not approved yet (mirador plugins approve PATH)',
  PLUGIN_SANDBOX:
    'a sandboxed plugin missed a deadline, crashed, went over its memory limit or asked beyond its permissions',
  PLUGIN_INSTALL: 'a plugin could not be installed, or was refused (install scripts, failed checks)',
  PLUGIN_INTEGRITY: 'an installed or downloaded plugin is not what was pinned (hash or registry signature)',
  PLUGIN_DENIED: "a plugin is refused by the user's allow/deny list ($MIRADOR_HOME/plugins/policy.json)",
  FEDERATION_ROUND:
    'a federation round cannot proceed (too few members or survivors, inconsistent or out-of-round messages, ' +
    'a refused reveal)',
  FEDERATION_RANGE: "a value is outside the range a federation round's fixed-point encoding can sum",
  FEDERATION_SHARE: 'a secret share of a federation round fails authentication or does not reconstruct',
  FEDERATION_EXCHANGE:
    'a federation exchange (folder, git remote, WebDAV URL) refused a file, is unreachable, or --offline forbids it',
  FEDERATION_PARAMS: 'federation privacy parameters (epsilon, delta, clip, mechanism) are outside their limits',
  FEDERATION_BUDGET: 'a federation contribution would spend more of the privacy budget than is left this period',
  FEDERATION_BUNDLE:
    'a federation bundle or round result was rejected (unsigned, tampered, foreign, replayed or out of round)',
  FEDERATION_KEYS: "this member's federation keys cannot be read or created",
  FEDERATION_MEMBERSHIP:
    'this Mirador is in no federation group, is in one already, or the group file does not list it as itself',
  LOCKED: 'another Mirador process holds a file this one must change, for too long',
  FILE_EXISTS: 'a file Mirador was asked to write already exists (--force replaces it)',
  USAGE: 'the command was called wrongly',
  INTERNAL: 'a bug in Mirador',
} as const

export type ErrorCode = keyof typeof ERROR_CODES

export interface MiradorErrorOptions {
  cause?: unknown
  /** file:line:column of the offending input, for config errors */
  location?: { file: string; line: number; column: number }
  /** extra machine-readable detail (schema path, host tried, …) */
  details?: Record<string, unknown>
}

/**
 * Marks Mirador's errors whichever copy of this module made them: the CLI runs bundled
 * (dist/mirador.js) while a plugin may import the compiled modules, and both must agree on what a
 * MiradorError is.
 */
const BRAND = Symbol.for('mirador.error')

export class MiradorError extends Error {
  readonly [BRAND] = true
  readonly code: ErrorCode
  readonly location?: MiradorErrorOptions['location']
  readonly details?: Record<string, unknown>

  constructor(code: ErrorCode, message: string, options: MiradorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'MiradorError'
    this.code = code
    if (options.location) this.location = options.location
    if (options.details) this.details = options.details
  }

  /** `file:line:col: message` when the error has a location, else the message. */
  format(): string {
    const l = this.location
    return l ? `${l.file}:${l.line}:${l.column}: ${this.message}` : this.message
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.location ? { location: this.location } : {}),
      ...(this.details ? { details: this.details } : {}),
    }
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true
  }

  static is(err: unknown, code?: ErrorCode): err is MiradorError {
    return err instanceof MiradorError && (code === undefined || err.code === code)
  }

  /** Wraps anything thrown into a MiradorError, keeping the original as `cause`. */
  static from(err: unknown, code: ErrorCode = 'INTERNAL', prefix?: string): MiradorError {
    if (err instanceof MiradorError) return err
    const msg = err instanceof Error ? err.message : String(err)
    return new MiradorError(code, prefix ? `${prefix}: ${msg}` : msg, { cause: err })
  }
}

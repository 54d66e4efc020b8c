/**
 * An exchange is the place a federation group shares its rounds: a folder, a git remote or a WebDAV
 * URL. Rounds are directories of files that members only ever add to, so the interface is a small
 * append-only file store.
 */

export interface ExchangeProgress {
  /** what just happened: a file was written, a sync finished, a push is being retried */
  kind: 'put' | 'sync' | 'retry'
  /** the exchange path concerned, when there is one */
  path?: string
  /** 1-based attempt number of a retried push */
  attempt?: number
}

export interface ExchangeOptions {
  /** $MIRADOR_HOME: a git exchange keeps its clone under federation/exchanges/ there */
  home: string
  /** this member's id: the only identity a git commit carries ("mirador member ID") */
  member: string
  /** engine settings `offline`: refuse exchanges that would reach the network */
  offline?: boolean
  /** the environment to read MIRADOR_FEDERATION_TOKEN from (the engine's settings.env); process.env by default */
  env?: Readonly<Record<string, string | undefined>>
  signal?: AbortSignal
  onProgress?: (event: ExchangeProgress) => void
}

export interface Exchange {
  /** how the exchange is named in messages (the URL without credentials) */
  readonly name: string
  /** the file names directly inside `dir` ('' for the top), sorted by code unit; [] when it does not exist */
  list(dir: string): Promise<string[]>
  /** a file's bytes, or undefined when there is no such file */
  get(path: string): Promise<Uint8Array | undefined>
  /**
   * Adds a file. Create-only: the same bytes again is a no-op, different bytes under an existing
   * name is FEDERATION_EXCHANGE, so members can never overwrite each other.
   */
  put(path: string, bytes: Uint8Array): Promise<void>
  /** brings in what others added (git: fetch and rebase; the others are always live) */
  sync(): Promise<void>
  close(): Promise<void>
}

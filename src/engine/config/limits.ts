/**
 * Hard limits on what the YAML loader accepts. They are far above what a hand-written chain,
 * manifest, profile, tool or config file needs, and far below what could hurt the process.
 */
export const LIMITS = Object.freeze({
  /** Largest file read, in bytes; checked with stat before anything is read. */
  maxBytes: 256 * 1024,
  /** Deepest nesting of maps and lists (the top-level map is depth 1); checked on the CST before composing. */
  maxDepth: 32,
  /** Most alias nodes (`*name`) in one file. */
  maxAliases: 20,
  /** yaml's `maxAliasCount` for `toJS`: bounds how much aliases may expand (billion laughs). */
  maxAliasExpansion: 100,
  /** Most errors `validateConfigFile` reports for one file. */
  maxErrors: 50,
})

export type Limits = typeof LIMITS

/**
 * Mirador's YAML loading, validation and error formatting (chains, models manifest, config,
 * profiles, tools). See load.ts for the entry points and yaml-safe.ts for what is refused.
 */
export type { ConfigKind, Loaded, LoadOptions, SourceLocation, ValidationResult } from './types.js'
export { loadConfigFile, loadConfigText, validateConfigFile, readConfigText } from './load.js'
export { locate, findNode, type PathSegment } from './locate.js'
export { expandEnv, manifestPath, resolveManifestPath, type ManifestPath } from './env.js'
export { LIMITS } from './limits.js'
export { ALLOWED_TAGS } from './yaml-cst-checks.js'
export { getSchema, getValidator, schemaFile } from './validate.js'
export { didYouMean, didYouMeanText, formatPath } from './message-words.js'
export type {
  ChainFile,
  Stage,
  StageOptions,
  SkipWhen,
  StageRef,
  ManifestFile,
  ManifestEntry,
  ManifestSource,
  ManifestBudget,
  KeepAlive,
  MiradorConfig,
  PluginName,
  PluginRef,
  OllamaSettings,
  LlamacppSettings,
  ProfileFile,
  ProfileWhen,
  ToolFile,
  ToolParameters,
  ToolLimits,
  FederationGroupFile,
  FederationMember,
  FederationPrivacy,
  FederationVocabulary,
} from './types.gen.js'

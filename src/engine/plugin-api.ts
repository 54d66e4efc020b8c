/**
 * What plugin authors import, as the package `@mirador/plugin-api` (packages/plugin-api): the
 * engine's own MiradorError (so `instanceof` holds across the plugin boundary), validatePluginOptions,
 * the error codes, and the types of the contract, the engine a plugin sees, every hook and the
 * values they carry. It is exactly what docs/plugins.md documents: add here only what the docs
 * describe. The package's .d.ts files are generated from this file by `npm run build`.
 */
export { API_VERSION, type MiradorPlugin, type PluginEntry } from './plugins.js'
export { ERROR_CODES, MiradorError, type ErrorCode, type MiradorErrorOptions } from './errors.js'
export { validatePluginOptions } from './plugin-options.js'
export type {
  Capability,
  ChainDef,
  EngineDirs,
  EngineSettings,
  PluginHost,
  RuntimeFactory,
  RuntimeRegistration,
} from './engine.js'
export type { HookName, Hooks } from './hooks.js'
export type * from './events.js'
export type {
  ForgetRequest,
  LoadedModel,
  LogOptions,
  ModelRef,
  Prompt,
  Rating,
  RouteAnswer,
  RouteRequest,
  RunContext,
  RunPlan,
  RunResult,
  Stage,
  StageContext,
  StageResult,
  StageStatus,
  ToolCall,
  ToolOffer,
  ToolResult,
  ToolSpec,
} from './types.js'
export type {
  GenerateRequest,
  GenerationOptions,
  Progress,
  Runtime,
  RuntimeStatus,
  StreamPart,
  ToolCallRequest,
  ToolDefinition,
} from './runtime.js'
export type { MiradorConfig } from './config/types.gen.js'

export { ModelsPlugin, type ModelsPluginOptions } from './ModelsPlugin.js'
export type { ResolvedModel } from './resolve.js'
export { EvictionPolicy } from './eviction.js'

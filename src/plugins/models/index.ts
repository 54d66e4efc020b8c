export { ModelsPlugin, type ModelsPluginOptions, type ResolvedModel } from './ModelsPlugin.js'

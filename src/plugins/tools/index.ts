export { ToolsPlugin, type ToolsPluginOptions } from './ToolsPlugin.js'
export { loadTool, loadTools, listToolFiles, type Tool } from './registry.js'

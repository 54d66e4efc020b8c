export { McpPlugin, MCP_ORIGIN_NOTE, type McpPluginOptions, type McpToolInfo } from './McpPlugin.js'

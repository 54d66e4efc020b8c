/**
 * How an MCP tool is named to a stage and a model: `SERVER-TOOL`. Tool names in Ollama's and
 * OpenAI's APIs allow only letters, digits, `_` and `-`, and a tools/*.yaml tool's name never has a
 * `-`, so the first `-` separates the server (whose name has none) from its tool, and an MCP tool
 * never hides a sandboxed one. Characters a model API refuses become `_`.
 */
export function qualifiedName(server: string, tool: string): string {
  return `${server}-${tool.replace(/[^A-Za-z0-9_-]/g, '_')}`
}

/** `SERVER-TOOL` → its parts; undefined for a name without a server */
export function splitName(name: string): { server: string; tool: string } | undefined {
  const at = name.indexOf('-')
  return at > 0 ? { server: name.slice(0, at), tool: name.slice(at + 1) } : undefined
}

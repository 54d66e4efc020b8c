/**
 * The `# yaml-language-server: $schema=…` line editors read. Copies of shipped YAML files (`chain
 * copy`, the learner's user copies of shipped chains) point it at the installed schema by its
 * absolute path: the shipped files' `../schemas/…` holds only beside the shipped folder.
 */
const SCHEMA_LINE = /^#[ \t]*yaml-language-server:[ \t]*\$schema=.*$/m

/** The text with its schema line pointing at `schema` (a line is added at the top if it has none). */
export function withSchemaLine(text: string, schema: string): string {
  const line = `# yaml-language-server: $schema=${schema}`
  if (SCHEMA_LINE.test(text)) return text.replace(SCHEMA_LINE, (m) => (m.endsWith('\r') ? `${line}\r` : line))
  const body = text.replace(/^\uFEFF/, '')
  return `${line}\n${body}`
}

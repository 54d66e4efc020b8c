/**
 * Mirador's static analyzer for JavaScript others wrote (tools now, plugins next): a real parser
 * (acorn), a walk (acorn-walk), and rules for what reaches outside a sandbox or hides what it
 * does. Each finding has file:line:column, a rule, a severity for the profile (plugin or tool)
 * and, where a declared permission could cover it, the permission it needs.
 *
 *   const { findings } = await analyzePaths(['./my-plugin'])
 *   compareWithPermissions(findings, manifest.permissions)  // each finding: declared or not
 *
 * Static analysis sees what is written: code built at run time from strings is reported as such
 * (eval, computed import(), obfuscation), not followed.
 */
export { analyzeSource, DEFAULT_MAX_FINDINGS } from './analyze-file.js'
export { analyzePaths, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_FILES, type Analysis } from './analyze.js'
export { JS_FILE } from './files.js'
export { compareWithPermissions, covered, type CheckedFinding } from './permissions.js'
export { RULES, severityOf, type RuleInfo } from './rules.js'
export type { AnalyzeOptions, Finding, Permission, Profile, RuleId, Severity } from './types.js'

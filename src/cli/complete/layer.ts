/**
 * What @oclif/plugin-autocomplete's scripts lack: argument values. Its bash and zsh functions
 * complete commands and flags only; these functions, added to its generated files, first decide
 * whether the word being completed is a chain, model, tool, profile or session name (from the
 * command typed so far, the position, and the flag before it) and offer what
 * `mirador __complete KIND` prints; otherwise they hand over to the plugin's function.
 */
import type { Kind } from './names.js'

/** command id → the kind of each of its arguments, in order */
export const ARG_KINDS: Record<string, Kind[]> = {
  'chain:run': ['chain'],
  'chain:show': ['chain'],
  'chain:copy': ['chain'],
  'models:load': ['model'],
  'models:unload': ['model'],
  'models:verify': ['model'],
  'tools:run': ['tool'],
  'session:show': ['session'],
  'session:rm': ['session'],
}

/** flag → the kind of its value, in every command that has it */
export const FLAG_KINDS: Record<string, Kind> = { session: 'session', profile: 'profile' }

export interface LayerInput {
  bin: string
  /** every command id (`chain:run`) */
  ids: string[]
  /** the flags that take a value (`--session`, `-c`), so their values are not taken for arguments */
  valueFlags: string[]
}

/** `chain`, `chain:run`, …: what a word may extend while it still names the command */
function commandPaths(ids: string[]): string {
  const paths = new Set(ids.flatMap((id) => id.split(':').map((_, i, parts) => parts.slice(0, i + 1).join(':'))))
  return [...paths].sort().join(' ')
}

function argCases(indent: string): string {
  return Object.entries(ARG_KINDS)
    .flatMap(([id, kinds]) => kinds.map((k, i) => `${indent}${id},${i}) echo ${k} ;;`))
    .join('\n')
}

function flagCases(indent: string): string {
  return Object.entries(FLAG_KINDS)
    .map(([flag, kind]) => `${indent}--${flag}) echo ${kind}; return ;;`)
    .join('\n')
}

/**
 * The word-walking both shells share, in the syntax both accept: the command path (`chain:run`),
 * then how many arguments come before the word being completed. WORDS and CWORD are the shell's
 * own (bash: COMP_WORDS from 0, zsh: words from 1), passed as their first index and the current one.
 */
function kindFunction(name: string, o: LayerInput, words: string, first: number, current: string): string {
  return `${name}() {
  local prev="\${${words}[${current}-1]}" w cmd="" npos=0 skip=0 i
  # bash splits --flag=value at the =
  [[ "$prev" == "=" ]] && prev="\${${words}[${current}-2]}"
  case "$prev" in
${flagCases('    ')}
  esac
  [[ "\${${words}[${current}]}" == -* ]] && return
  for ((i = ${first + 1}; i < ${current}; i++)); do
    w="\${${words}[i]}"
    if ((skip)); then skip=0; continue; fi
    if [[ "$w" == "=" ]]; then skip=1; continue; fi
    if [[ "$w" == -* ]]; then
      [[ "$w" != *=* && " $_${o.bin}_value_flags " == *" $w "* ]] && skip=1
      continue
    fi
    if ((npos == 0)) && [[ " $_${o.bin}_command_paths " == *" \${cmd:+$cmd:}$w "* ]]; then
      cmd="\${cmd:+$cmd:}$w"
    else
      npos=$((npos + 1))
    fi
  done
  # not "#": zsh completes with extendedglob on, where # in a case pattern is a glob operator
  case "$cmd,$npos" in
${argCases('    ')}
  esac
}`
}

function shared(o: LayerInput): string {
  return `_${o.bin}_command_paths="${commandPaths(o.ids)}"
_${o.bin}_value_flags="${[...o.valueFlags].sort().join(' ')}"`
}

const HEAD = (bin: string) =>
  `# --- ${bin}: argument values (chain, model, tool, profile and session names), from \`${bin} __complete KIND\`,
# which reads your files at each TAB; commands and flags come from the function above.`

export function bashLayer(o: LayerInput): string {
  const b = o.bin
  return `
${HEAD(b)}
${shared(o)}
${kindFunction(`_${b}_value_kind`, o, 'COMP_WORDS', 0, 'COMP_CWORD')}

_${b}_values() {
  local kind cur="\${COMP_WORDS[COMP_CWORD]}"
  [[ "$cur" == "=" ]] && cur=""
  kind="$(_${b}_value_kind)"
  if [[ -n "$kind" ]]; then
    local IFS=$'\\n'
    COMPREPLY=($(compgen -W "$("\${COMP_WORDS[0]}" __complete "$kind" 2>/dev/null)" -- "$cur"))
    return 0
  fi
  _${b}_autocomplete "$@"
}

complete -F _${b}_values ${b}
`
}

/**
 * zsh: the generated file is the autoloaded body of `_BIN`, ending by calling `_BIN`; it ends by
 * binding and calling `_BIN_values` instead, which falls back to the plugin's `_BIN`.
 */
export function zshLayer(o: LayerInput, generated: string): string {
  const b = o.bin
  const body = generated.replace(new RegExp(`\\n_${b}\\s*$`), '\n')
  return `${body}
${HEAD(b)}
${shared(o)}
${kindFunction(`_${b}_value_kind`, o, 'words', 1, 'CURRENT')}

_${b}_values() {
  local kind
  kind="$(_${b}_value_kind)"
  if [[ -n "$kind" ]]; then
    local -a names
    names=(\${(f)"$(\${words[1]} __complete $kind 2>/dev/null)"})
    compadd -a names
    return
  fi
  _${b} "$@"
}

compdef _${b}_values ${b}
_${b}_values "$@"
`
}

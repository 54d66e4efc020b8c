/** Events as tests read them: any field may be asserted on, whatever the type. */
export interface LooseEvent {
  type: string
  runId: string
  t: number
  [key: string]: any
}

/** The chain a chat starts on when neither the command line nor config (`chat: { chain }`) names one. */
export const DEFAULT_CHAIN = 'quick-deep'

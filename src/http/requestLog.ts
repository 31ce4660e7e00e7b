// One line per helpdesk request, for people watching: the CLI's dry run, `route`, and the integration when
// UNIVERSAL_HITL_LOG_REQUESTS is set (the sandbox's --verbose with --mapping). Values arrive redacted.
import type { SentRequest } from '../operations/runSteps'

/** The tag the integration puts before each logged request, so the sandbox can show it as the helpdesk's. */
export const REQUEST_LOG_TAG = '[helpdesk request]'

/** `createTicket step "ticket": POST https://… → 201` (or `→ failed: …`). */
export const requestLine = (r: SentRequest) => {
  // The error names the step and the request already: keep only what it adds.
  const why = r.status === undefined && r.error ? r.error.replace(`${r.label}: `, '').replace(/^[A-Z]+ \S+ failed: /, '') : ''
  return `${r.label}: ${r.method} ${r.url} → ${r.status ?? 'failed'}${why ? ` (${why})` : ''}`
}

/** With UNIVERSAL_HITL_LOG_REQUESTS=1, every helpdesk request and its status on stdout (masked). */
export function envRequestLogger(env: NodeJS.ProcessEnv = process.env): ((r: SentRequest) => void) | undefined {
  if (!env.UNIVERSAL_HITL_LOG_REQUESTS) return undefined
  return (r) => console.log(`${REQUEST_LOG_TAG} ${requestLine(r)}`)
}

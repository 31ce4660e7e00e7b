// The one list of diagnostic codes: every problem `validate` prints and every error a run reports names one of
// these, and docs/errors.md explains each (test/diagnostics.test.ts holds the two together). A code, once
// shipped, keeps its meaning: add new codes at the end of their list, never renumber, and mark one that is no
// longer produced `retired` instead of deleting it (its number is not reused).
//
// To add a problem: append one line here (`'UH-E0NN': 'what is wrong',`), pass the code where the problem is
// made (`cx.problem('UH-E0NN', path, message)`, `source.problem('UH-E0NN', …)`, `new VendorRequestError('UH-E0NN', …)`),
// and add its `### UH-E0NN — what is wrong` section to docs/errors.md.

/** Errors: the mapping, settings or delivery is refused, or the run failed. */
const ERRORS = {
  // Reading files
  'UH-E001': 'YAML syntax error',
  'UH-E002': 'YAML refused (too many aliases)',
  'UH-E003': 'not a shipped mapping name',
  // The schema (docs/mapping-format.md, schemas/mapping.schema.json)
  'UH-E004': 'invalid name',
  'UH-E005': 'missing required field',
  'UH-E006': 'unknown field',
  'UH-E007': 'value not among the allowed ones',
  'UH-E008': 'value differs from the only allowed one',
  'UH-E009': 'wrong type',
  'UH-E010': 'field excluded by another field',
  'UH-E011': 'invalid key name',
  'UH-E012': 'value breaks a schema rule',
  // Compiling expressions and templates
  'UH-E013': 'template braces in an expression field',
  'UH-E014': 'JSONata syntax error',
  'UH-E015': 'template syntax error',
  'UH-E016': 'unknown variable',
  'UH-E017': 'setting not declared',
  'UH-E018': 'reference to a step that is not earlier',
  // Compiling sections
  'UH-E019': 'createUser without result.externalUserId',
  'UH-E020': 'createTicket without result.ticketId',
  'UH-E021': 'step id used twice',
  'UH-E022': 'token request using token auth',
  'UH-E023': 'jwt verify without a key',
  'UH-E024': 'TODO left to fill in',
  // Settings
  'UH-E025': 'settings file is not a mapping',
  'UH-E026': 'unknown setting',
  'UH-E027': 'setting value is not a single value',
  'UH-E028': 'required setting missing',
  // Loading a mapping from a URL
  'UH-E029': 'mapping URL is not valid',
  'UH-E030': 'mapping URL is not https',
  'UH-E031': 'mapping URL is not pinned',
  'UH-E032': 'mapping file could not be fetched',
  'UH-E033': 'mapping file too large',
  'UH-E034': 'mapping file does not match its pin',
  // Running operations
  'UH-E035': 'helpdesk answered with an error status',
  'UH-E036': 'helpdesk could not be reached',
  'UH-E037': 'token request failed',
  'UH-E038': 'no refresh token configured',
  'UH-E039': 'refresh token revoked or expired',
  'UH-E040': 'request URL is not absolute',
  'UH-E041': 'request host not allowed',
  'UH-E042': 'operation result missing',
  'UH-E043': 'expression evaluation failed',
  'UH-E044': '$eval used in a mapping',
  'UH-E045': '$hmac with an unsupported algorithm',
  'UH-E046': 'message type the mapping cannot send',
  // Webhook deliveries
  'UH-E047': 'delivery failed verification',
  'UH-E048': 'delivery over a size limit',
  'UH-E049': 'delivery body unreadable',
  // Limits (issue 8)
  'UH-E050': 'YAML nested too deep',
  'UH-E051': 'file over its size limit',
  'UH-E052': 'too many settings declared',
  'UH-E053': 'secret setting is only white space',
  'UH-E054': 'request path with a dot segment',
  // Sections added with the message model (issue 10)
  'UH-E055': 'step retry without statusCodes or until',
  'UH-E056': 'files step with a form body',
  'UH-E057': 'ticketId depends on $steps in a rule reading $ticket',
  'UH-E058': 'emit without an event type',
  'UH-E059': 'step retry.until still false after the retries',
  'UH-E060': 'paginate.next gave an unusable value',
  'UH-E061': 'file not on a Botpress file host',
  'UH-E062': 'binary files step that cannot send exactly one file',
} as const

/** Warnings: the file loads, but something in it rarely means what it says. */
const WARNINGS = {
  'UH-W001': 'fixture scalar read as a surprising number',
  'UH-W002': '!= on a field that may be missing',
  'UH-W003': 'dedupeKey reads a header or query parameter the signature does not cover',
  'UH-W004': 'dedupeKey reads a body the signature does not cover',
} as const

export const DIAGNOSTIC_CODES: Readonly<Record<DiagnosticCode, string>> = { ...ERRORS, ...WARNINGS }

export type DiagnosticCode = keyof typeof ERRORS | keyof typeof WARNINGS
export type WarningCode = keyof typeof WARNINGS

/** How a message names its code: the code first, then the message as it always read. */
export const withCode = (code: DiagnosticCode, message: string) => `${code} ${message}`

/**
 * An error a run reports (a vendor call, an expression, a delivery), with its code. `message` stays the plain
 * text (callers wrap it with more context); what prints the error names the code (`describeError`).
 */
export class DiagnosticError extends Error {
  constructor(
    readonly diagnostic: DiagnosticCode,
    message: string,
  ) {
    super(message)
  }
}

/** The error as one reports it: `UH-E035 createTicket step 1: …` for a coded error, the message otherwise. */
export const describeError = (e: unknown): string => {
  const message = (e as Error)?.message ?? String(e)
  return e instanceof DiagnosticError ? withCode(e.diagnostic, message) : message
}

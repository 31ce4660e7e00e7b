/**
 * The variables mapping expressions may read, wherever they are (each field's description says which apply
 * there). A `$name` that is none of these, not a function call and not bound in the expression (`$x := ...`,
 * `function($x)`) would silently evaluate to nothing, so compiling reports it.
 */
export const MAPPING_VARIABLES: ReadonlySet<string> = new Set([
  // everywhere
  'settings',
  'registration',
  'webhookUrl',
  // operations
  'input',
  'steps',
  'item',
  'index',
  // webhooks
  'body',
  'rawBody',
  'headers',
  'query',
  'method',
  'path',
  // webhook.verify: the signature header, its timestamp text and (headerFormat) the signature
  'header',
  'timestamp',
  'signature',
  // format 1.1 message model: per-ticket values, a files step's downloaded files, step controls
  'ticket',
  'files',
  'pages',
  'page',
  'response',
  'error',
])

/** JSONata's built-in functions and ours: a name passed without a call (`$map(xs, $string)`) is one of them. */
const FUNCTIONS: ReadonlySet<string> = new Set(
  (
    'string length substring substringBefore substringAfter uppercase lowercase trim pad contains split join match replace ' +
    'eval base64encode base64decode encodeUrlComponent encodeUrl decodeUrlComponent decodeUrl formatNumber formatBase ' +
    'formatInteger parseInteger number abs floor ceil round power sqrt random sum max min average boolean not exists ' +
    'count append sort reverse shuffle distinct zip keys lookup spread merge sift each error assert type map filter ' +
    'single reduce now millis fromMillis toMillis hmac base64'
  ).split(' '),
)

/** Blanks string literals and back-quoted names (same length, so offsets stay true). */
function blankLiterals(text: string): string {
  return text.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, (m) => ' '.repeat(m.length))
}

/** The `{{ }}` parts of a template (the rest is literal text), others blanked. */
function templateParts(text: string): string {
  return text
    .replace(/\}\}[\s\S]*?\{\{|^[\s\S]*?\{\{|\}\}[\s\S]*$/g, (m) => ' '.repeat(m.length))
    .replace(/^[^{]*$/, (m) => (text.includes('{{') ? m : ' '.repeat(m.length)))
}

/** Unknown `$variables` in an expression or a template, with their offsets. */
export function unknownVariables(text: string, kind: 'expression' | 'template'): { name: string; offset: number }[] {
  const code = blankLiterals(kind === 'template' ? templateParts(text) : text)
  const bound = new Set<string>()
  for (const m of code.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)\s*:=/g)) bound.add(m[1]!)
  for (const m of code.matchAll(/function\s*\(([^)]*)\)/g)) for (const p of m[1]!.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)) bound.add(p[1]!)
  const out: { name: string; offset: number }[] = []
  for (const m of code.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)(?!\s*\()/g)) {
    const name = m[1]!
    // a name continued into `(` after backtracking (`$spli` of `$split(`) is a call, not a variable
    if (/^[A-Za-z0-9_]/.test(code.slice(m.index! + m[0].length))) continue
    if (MAPPING_VARIABLES.has(name) || bound.has(name) || FUNCTIONS.has(name)) continue
    out.push({ name, offset: m.index! })
  }
  return out
}

// A bad mapping is refused with every problem listed once, as `file:line:column: path: message`, placed at
// the YAML node (or the character inside an expression) that is wrong.
import { describe, expect, it } from 'vitest'
import { compileMappingText, loadMapping, shippedMappingNames } from '../../src/mapping/loadMapping'
import { MappingError, formatProblem, type Problem } from '../../src/mapping/problems'
import { acmeText, mappingErrorOf, positionOf, problemsOf, replaceOnce } from './helpers'

const SETTINGS = 'baseUrl: http://127.0.0.1:9\napiToken: tok-123456\nwebhookSecret: whsec-123456\n'

/** Exactly one problem; returns it. */
function onlyProblem(text: string): Problem {
  const problems = problemsOf(text)
  expect(problems.map(formatProblem)).toHaveLength(1)
  return problems[0]!
}

describe('the acme mapping itself', () => {
  it('compiles without problems (the cases below each break one thing)', () => {
    expect(problemsOf(acmeText)).toEqual([])
  })
})

describe('malformed YAML', () => {
  it('a tab used as indentation is reported at the tab', () => {
    const text = replaceOnce(acmeText, '  timeoutMs: 5000\n', '\ttimeoutMs: 5000\n')
    const p = onlyProblem(text)
    expect(p).toMatchObject({ file: 'm.yaml', ...positionOf(text, '\ttimeoutMs', '\t'), path: '(yaml)', message: 'Tabs are not allowed as indentation' })
  })

  it('a key indented less than its siblings is reported on its line (and the lines after it are not blamed)', () => {
    const text = replaceOnce(acmeText, '  timeoutMs: 5000\n', ' timeoutMs: 5000\n')
    const p = onlyProblem(text)
    expect(p).toMatchObject({ ...positionOf(text, ' timeoutMs: 5000', ' '), path: '(yaml)', message: 'All mapping items must start at the same column' })
  })

  it('a duplicate key is reported at the second occurrence', () => {
    const text = replaceOnce(acmeText, '  timeoutMs: 5000\n', '  timeoutMs: 5000\n  timeoutMs: 6000\n')
    const p = onlyProblem(text)
    expect(p).toMatchObject({ ...positionOf(text, 'timeoutMs: 6000', 'timeoutMs'), path: '(yaml)', message: 'Map keys must be unique' })
  })

  it('two duplicate keys are both reported', () => {
    const text = replaceOnce(
      replaceOnce(acmeText, '  timeoutMs: 5000\n', '  timeoutMs: 5000\n  timeoutMs: 6000\n'),
      '      emit: solved\n',
      '      emit: solved\n      emit: solved\n',
    )
    const problems = problemsOf(text)
    expect(problems.map((p) => `${p.line}:${p.column} ${p.message}`)).toEqual([
      `${positionOf(text, 'timeoutMs: 6000', 'timeoutMs').line}:3 Map keys must be unique`,
      `${positionOf(text, 'emit: solved', 'emit').line + 1}:7 Map keys must be unique`,
    ])
  })

  it('the MappingError message is the problems, one formatted line each', () => {
    const text = replaceOnce(acmeText, '  timeoutMs: 5000\n', '\ttimeoutMs: 5000\n')
    const e = mappingErrorOf(() => compileMappingText(text, 'some/dir/acme.yaml'))
    const { line } = positionOf(text, '\ttimeoutMs', '\t')
    expect(e.message).toBe(`some/dir/acme.yaml:${line}:1: (yaml): UH-E001 Tabs are not allowed as indentation`)
  })
})

describe('schema violations', () => {
  it('a missing required field points at the map that lacks it', () => {
    const text = replaceOnce(acmeText, '      emit: solved\n', '')
    const p = onlyProblem(text)
    expect(formatProblem(p)).toBe(`m.yaml:${positionOf(text, '- name: solved', 'name').line}:7: webhook.events[2]: UH-E005 missing required field "emit"`)
  })

  it('an unknown field points at its key', () => {
    const text = replaceOnce(acmeText, '  timeoutMs: 5000\n', '  timeoutMs: 5000\n  retries: 3\n')
    const p = onlyProblem(text)
    expect(p).toMatchObject({ ...positionOf(text, 'retries: 3', 'retries'), path: 'http.retries', message: 'unknown field "retries"' })
  })

  it('an unknown field inside a flow map points at its key', () => {
    const text = replaceOnce(acmeText, 'vendor: { name: Acme Desk }', 'vendor: { name: Acme Desk, colour: red }')
    expect(onlyProblem(text)).toMatchObject({ ...positionOf(text, 'colour: red', 'colour'), path: 'vendor.colour' })
  })

  it('a value outside an enum points at the value and lists the allowed ones', () => {
    const text = replaceOnce(acmeText, 'emit: solved', 'emit: closed')
    expect(onlyProblem(text)).toMatchObject({
      ...positionOf(text, 'emit: closed', 'closed'),
      path: 'webhook.events[2].emit',
      message: 'must be one of: "newMessage", "assigned", "solved"',
    })
  })

  it('a value of the wrong type points at the value', () => {
    const text = replaceOnce(acmeText, 'timeoutMs: 5000', 'timeoutMs: fast')
    expect(onlyProblem(text)).toMatchObject({ ...positionOf(text, 'timeoutMs: fast', 'fast'), path: 'http.timeoutMs', message: 'must be integer' })
  })

  it('a boolean where an expression (text) is expected is a type error, reported once', () => {
    const text = replaceOnce(acmeText, 'when: event = "ticket.assigned"', 'when: false')
    expect(onlyProblem(text)).toMatchObject({ ...positionOf(text, 'when: false', 'false'), path: 'webhook.events[1].when', message: 'must be string' })
  })

  it('a wrong field in an auth block (chosen by type) is reported once per problem, not per branch', () => {
    const text = replaceOnce(acmeText, 'token: "{{ $settings.apiToken }}" }', 'tokn: "{{ $settings.apiToken }}" }')
    const problems = problemsOf(text)
    expect(problems.map((p) => `${p.path}: ${p.message}`).sort()).toEqual(['http.auth.tokn: unknown field "tokn"', 'http.auth: missing required field "token"'])
  })

  it('a setting name that is not an identifier is reported once, at that name', () => {
    const text = replaceOnce(acmeText, '  queue: { default: support }', '  queue-name: { default: support }')
    expect(onlyProblem(text)).toMatchObject({ ...positionOf(text, 'queue-name:', 'queue-name'), path: 'settings.queue-name' })
  })
})

describe('JSONata syntax errors are placed at the offending character in the YAML file', () => {
  it('in a plain scalar', () => {
    const text = replaceOnce(acmeText, 'when: event = "ticket.assigned"', 'when: event = = "ticket.assigned"')
    const p = onlyProblem(text)
    expect(p).toMatchObject({ ...positionOf(text, 'when: event = = ', '=', 2), path: 'webhook.events[1].when' })
    expect(p.message).toBe('JSONata error at character 9 of the expression: The symbol "=" cannot be used as a unary operator')
  })

  it('in a plain scalar, an unclosed parenthesis points just past the end of the expression', () => {
    const text = replaceOnce(acmeText, 'errorMessage: error.message', 'errorMessage: error.(message')
    const p = onlyProblem(text)
    const start = positionOf(text, 'errorMessage: error.(message', 'error.')
    expect(p).toMatchObject({ line: start.line, column: start.column + 'error.(message'.length, path: 'http.errorMessage' })
    expect(p.message).toContain('Expected ")" before end of expression')
  })

  it('in a single-quoted scalar', () => {
    const text = replaceOnce(acmeText, `type: 'message.attachment ? "image" : "text"'`, `type: 'message.attachment ? ] "image" : "text"'`)
    expect(onlyProblem(text)).toMatchObject({ ...positionOf(text, `type: 'message.attachment ? ]`, ']'), path: 'webhook.events[0].message.type' })
  })

  it('in a double-quoted scalar', () => {
    const text = replaceOnce(acmeText, 'errorMessage: error.message', 'errorMessage: "error.message ]"')
    expect(onlyProblem(text)).toMatchObject({ ...positionOf(text, 'errorMessage: "error.message ]"', ']'), path: 'http.errorMessage' })
  })

  it('in a | block scalar, on a line indented deeper than the block', () => {
    const text = replaceOnce(acmeText, '"queue": $settings.queue,', '"queue": $settings.queue ],')
    const p = onlyProblem(text)
    expect(p).toMatchObject({ ...positionOf(text, '"queue": $settings.queue ],', ']'), path: 'operations.createTicket.steps[0].request.body' })
    expect(p.message).toMatch(/^JSONata error at character \d+ of the expression: Expected "}", got "]"$/)
  })

  it('in a | block scalar, on its first line', () => {
    const text = replaceOnce(acmeText, 'body: |\n            {\n', 'body: |\n            { ]\n')
    expect(onlyProblem(text)).toMatchObject({ ...positionOf(text, '            { ]', ']'), path: 'operations.createTicket.steps[0].request.body' })
  })

  it('inside a template ({{ }}) of a quoted scalar', () => {
    const text = replaceOnce(acmeText, 'path: "/tickets/{{ ticketId }}", body', 'path: "/tickets/{{ ticketId ] }}", body')
    const p = onlyProblem(text)
    expect(p).toMatchObject({ ...positionOf(text, '{{ ticketId ] }}', ']'), path: 'operations.closeTicket.steps[0].request.path' })
    expect(p.message).toBe('template error at character 22: Syntax error: "]"')
  })
})

describe('reference lints', () => {
  it('an undeclared $settings.x is reported at the reference', () => {
    const text = replaceOnce(acmeText, '"queue": $settings.queue,', '"queue": $settings.queu,')
    const p = onlyProblem(text)
    expect(p).toMatchObject({ ...positionOf(text, '$settings.queu,', '$settings'), path: 'operations.createTicket.steps[0].request.body' })
    expect(p.message).toBe('uses setting "queu" that the mapping does not declare under settings')
  })

  it('an undeclared setting in a template is reported at the reference', () => {
    const text = replaceOnce(acmeText, 'baseUrl: "{{ $settings.baseUrl }}/api"', 'baseUrl: "{{ $settings.baseURL }}/api"')
    expect(onlyProblem(text)).toMatchObject({
      ...positionOf(text, '$settings.baseURL', '$settings'),
      path: 'http.baseUrl',
      message: 'uses setting "baseURL" that the mapping does not declare under settings',
    })
  })

  it('$steps.y used before step y is defined is reported', () => {
    const text = replaceOnce(
      acmeText,
      `      - id: hook\n        request: { method: POST, path: /webhooks, body: '{"url": $webhookUrl}' }`,
      `      - id: first\n        request: { method: POST, path: /pre, body: '{"prev": $steps.hook.body.id}' }\n      - id: hook\n        request: { method: POST, path: /webhooks, body: '{"url": $webhookUrl}' }`,
    )
    const p = onlyProblem(text)
    expect(p).toMatchObject({ ...positionOf(text, '"prev": $steps.hook', '$steps'), path: 'operations.register.steps[0].request.body' })
    expect(p.message).toBe('refers to step "hook", which is not an earlier step of this operation')
  })

  it('$steps.y of a step that does not exist at all is reported in a result', () => {
    const text = replaceOnce(acmeText, 'result: { ticketId: $steps.ticket.body.ticket.id }', 'result: { ticketId: $steps.tickt.body.ticket.id }')
    expect(onlyProblem(text)).toMatchObject({ ...positionOf(text, '$steps.tickt', '$steps'), path: 'operations.createTicket.result.ticketId' })
  })

  it('a step id used twice in one operation is reported at the second', () => {
    const text = replaceOnce(
      acmeText,
      '      - request: { method: DELETE',
      '      - id: a\n        request: { method: GET, path: /x }\n      - id: a\n        request: { method: DELETE',
    )
    const p = onlyProblem(text)
    expect(p.path).toBe('operations.unregister.steps[1].id')
    expect(p.message).toBe('step id "a" is used twice in unregister')
  })
})

describe('operation results', () => {
  it('createTicket without result.ticketId is refused, at the result map', () => {
    const text = replaceOnce(acmeText, 'result: { ticketId: $steps.ticket.body.ticket.id }', 'result: {}')
    expect(onlyProblem(text)).toMatchObject({
      ...positionOf(text, '    result: {}', '{}'),
      path: 'operations.createTicket.result',
      message: 'missing required field "ticketId"',
    })
  })

  it('createTicket without any result is refused, at the operation', () => {
    const text = replaceOnce(acmeText, '    result: { ticketId: $steps.ticket.body.ticket.id }\n', '')
    const p = onlyProblem(text)
    expect(p).toMatchObject({ path: 'operations.createTicket', message: 'missing required field "result"' })
    expect(p.line).toBe(positionOf(text, '  createTicket:', 'createTicket').line + 1)
  })
})

describe('several problems at once', () => {
  it('are all listed in one error', () => {
    const text = replaceOnce(
      replaceOnce(replaceOnce(acmeText, 'emit: solved', 'emit: closed'), 'timeoutMs: 5000', 'timeoutMs: fast'),
      'vendor: { name: Acme Desk }',
      'vendor: { name: Acme Desk, colour: red }',
    )
    const e = mappingErrorOf(() => compileMappingText(text, 'm.yaml'))
    const lines = e.message.split('\n')
    expect(lines).toHaveLength(3)
    expect(lines).toContain(
      `m.yaml:${positionOf(text, 'colour: red', 'colour').line}:${positionOf(text, 'colour: red', 'colour').column}: vendor.colour: UH-E006 unknown field "colour"`,
    )
    expect(lines).toContain(`m.yaml:${positionOf(text, 'timeoutMs: fast', 'fast').line}:14: http.timeoutMs: UH-E009 must be integer`)
    expect(lines).toContain(
      `m.yaml:${positionOf(text, 'emit: closed', 'closed').line}:13: webhook.events[2].emit: UH-E007 must be one of: "newMessage", "assigned", "solved"`,
    )
  })

  it('compile problems (JSONata and lints) are listed together too', () => {
    const text = replaceOnce(
      replaceOnce(acmeText, 'errorMessage: error.message', 'errorMessage: error.message ]'),
      '"queue": $settings.queue,',
      '"queue": $settings.nope,',
    )
    const problems = problemsOf(text)
    expect(problems.map((p) => p.path).sort()).toEqual(['http.errorMessage', 'operations.createTicket.steps[0].request.body'])
  })
})

describe('an alias bomb (billion laughs)', () => {
  const levels = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i)
    const name = String.fromCharCode(97 + i)
    levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`)
  }
  const bomb = `${levels.join('\n')}\n`

  it('is refused as a mapping problem instead of being expanded', () => {
    const e = mappingErrorOf(() => compileMappingText(bomb, 'bomb.yaml'))
    expect(e.problems).toHaveLength(1)
    expect(e.problems[0]).toMatchObject({ file: 'bomb.yaml', line: 1, column: 1, path: '(yaml)' })
    expect(e.message).toMatch(/^bomb\.yaml:1:1: \(yaml\): UH-E002 refused: .*alias/i)
  })

  it('is refused in settings text as well', () => {
    const e = mappingErrorOf(() => loadMapping({ mapping: acmeText, settings: bomb }))
    expect(e.message).toMatch(/^settings:1:1: \(yaml\): UH-E002 refused: .*alias/i)
  })
})

describe('loadMapping', () => {
  it('an unknown shipped mapping name is refused and the shipped names are listed', () => {
    const e = mappingErrorOf(() => loadMapping({ mapping: 'freshdesk-typo', settings: '' }))
    expect(shippedMappingNames().length).toBeGreaterThan(0)
    expect(e.message).toBe(
      `mapping:1:1: (root): UH-E003 "freshdesk-typo" is not a shipped mapping; shipped: ${shippedMappingNames().join(', ')} (or paste a whole YAML mapping)`,
    )
  })

  it('problems of a pasted mapping are reported against the file name "mapping"', () => {
    const text = replaceOnce(acmeText, 'emit: solved', 'emit: closed')
    const e = mappingErrorOf(() => loadMapping({ mapping: text, settings: SETTINGS }))
    expect(e.message).toMatch(/^mapping:\d+:13: webhook\.events\[2\]\.emit: UH-E007 must be one of/)
  })

  it('the same configuration gives the same loaded object; the same mapping text shares the compiled mapping', () => {
    const a = loadMapping({ mapping: acmeText, settings: SETTINGS })
    const b = loadMapping({ mapping: acmeText, settings: SETTINGS })
    expect(b).toBe(a)
    const otherSettings = loadMapping({ mapping: acmeText, settings: `${SETTINGS}queue: vip\n` })
    expect(otherSettings).not.toBe(a)
    expect(otherSettings.mapping).toBe(a.mapping)
    expect(otherSettings.settings.values.queue).toBe('vip')
    expect(a.settings.values.queue).toBe('support')
  })

  it('a changed mapping text is compiled anew', () => {
    const a = loadMapping({ mapping: acmeText, settings: SETTINGS })
    const changedText = replaceOnce(acmeText, 'timeoutMs: 5000', 'timeoutMs: 7000')
    const changed = loadMapping({ mapping: changedText, settings: SETTINGS })
    expect(changed.mapping).not.toBe(a.mapping)
    expect(changed.mapping.http.timeoutMs).toBe(7000)
    expect(a.mapping.http.timeoutMs).toBe(5000)
    expect(changed.hash).not.toBe(a.hash)
  })

  it('a mapping that failed is not cached: the same text fails again, and the fixed text loads', () => {
    const broken = replaceOnce(acmeText, 'emit: solved', 'emit: closed')
    expect(() => loadMapping({ mapping: broken, settings: SETTINGS })).toThrow(MappingError)
    expect(() => loadMapping({ mapping: broken, settings: SETTINGS })).toThrow(MappingError)
    expect(loadMapping({ mapping: acmeText, settings: SETTINGS }).mapping.webhook.events).toHaveLength(3)
  })
})

describe('template braces in an expression slot', () => {
  it('is reported with a hint, at the braces', () => {
    const text = acmeText.replace('ticketId: $steps.ticket.body.ticket.id }', "ticketId: '{{ $steps.ticket.body.ticket.id }}' }")
    expect(text).not.toBe(acmeText)
    const at = positionOf(text, "'{{ $steps.ticket.body.ticket.id }}'", '{{')
    expect(() => compileMappingText(text, 'm.yaml')).toThrow(
      `m.yaml:${at.line}:${at.column}: operations.createTicket.result.ticketId: UH-E013 this field is an expression, not a template: write the JSONata without {{ }}`,
    )
  })
})

// Unknown `$variables` (a typo such as `$stepz.x` silently evaluates to nothing) are positioned compile
// problems; YAML merge keys (`<<: *base`) are accepted.
import { describe, expect, it } from 'vitest'
import { unknownVariables } from '../../src/mapping/compile/variables'
import { compileMappingText } from '../../src/mapping/loadMapping'
import { acmeText, positionOf, problemsOf, replaceOnce } from './helpers'

describe('unknownVariables', () => {
  it('finds variables the format does not have, skipping calls, bound names and string literals', () => {
    expect(unknownVariables('$stepz.x', 'expression')).toEqual([{ name: 'stepz', offset: 0 }])
    expect(unknownVariables('$split($header, ";")[1] & $string($x) & "$nope"', 'expression')).toEqual([{ name: 'x', offset: 34 }])
    expect(unknownVariables('($a := 1; $a + $b)', 'expression').map((v) => v.name)).toEqual(['b'])
    expect(unknownVariables('$map(x, function($v) { $v & $w })', 'expression').map((v) => v.name)).toEqual(['w'])
    expect(unknownVariables('$$.a & $.b & $webhookUrl', 'expression')).toEqual([])
    expect(unknownVariables('$map(items, $string) & $reduce(xs, $append)', 'expression')).toEqual([])
  })

  it('reads only the {{ }} parts of a template', () => {
    expect(unknownVariables('costs $5 and $foo {{ $settings.a & $bar }}', 'template').map((v) => v.name)).toEqual(['bar'])
    expect(unknownVariables('plain $text', 'template')).toEqual([])
  })
})

describe('compiling a mapping', () => {
  it('reports an unknown variable at its character', () => {
    const text = replaceOnce(acmeText, 'externalUserId: $steps.contact.body.contact.id', 'externalUserId: $stepz.contact.body.contact.id')
    const problems = problemsOf(text)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatchObject({ ...positionOf(text, '$stepz.contact', '$stepz'), path: 'operations.createUser.result.externalUserId' })
    expect(problems[0]!.message).toMatch(/^unknown variable \$stepz: mappings read \$settings, /)
  })

  it('accepts YAML merge keys', () => {
    const text = replaceOnce(
      acmeText,
      'result: { externalUserId: $steps.contact.body.contact.id }',
      'result: { <<: &ids { externalUserId: $steps.contact.body.contact.id } }',
    )
    expect(problemsOf(text)).toEqual([])
    expect(compileMappingText(text, 'm.yaml').file.operations.createUser.result).toEqual({ externalUserId: '$steps.contact.body.contact.id' })
  })
})

import { describe, expect, it } from 'vitest'
import { Redactor } from '../../src/http/redact'

describe('Redactor', () => {
  const r = new Redactor(['tok-SECRET-1234', 'ab'])

  it('masks secret values and their URL and base64 encodings, but not values too short to be secrets', () => {
    const b64 = Buffer.from('tok-SECRET-1234').toString('base64')
    expect(r.text(`x tok-SECRET-1234 ${encodeURIComponent('tok-SECRET-1234')} ${b64} ab`)).toBe('x *** *** *** ab')
  })

  it('masks credential-named fields of a logged body even when no setting holds the value', () => {
    const body = JSON.stringify({
      Name: 'bp-user_1',
      Password: 'derived-"quoted"-pw',
      nested: { api_key: 'k-1' },
      clientSecret: 's',
      text: 'hello tok-SECRET-1234',
    })
    expect(JSON.parse(r.body(body))).toEqual({ Name: 'bp-user_1', Password: '***', nested: { api_key: '***' }, clientSecret: '***', text: 'hello ***' })
  })

  it('masks credential headers whatever their value', () => {
    expect(r.headers({ Authorization: 'Basic eDp5', 'X-Trace': 'tok-SECRET-1234', accept: 'json' })).toEqual({
      Authorization: '***',
      'X-Trace': '***',
      accept: 'json',
    })
  })

  it('says when a credential header is empty instead of masking it like a good one', () => {
    const emptyBasic = Buffer.from(':').toString('base64')
    expect(r.headers({ authorization: 'Bearer ', 'x-api-key': '', cookie: 'a=b' })).toEqual({
      authorization: 'Bearer (empty)',
      'x-api-key': '(empty)',
      cookie: '***',
    })
    expect(r.headers({ authorization: `Basic ${emptyBasic}` })).toEqual({ authorization: 'Basic (empty)' })
    expect(r.headers({ authorization: 'Bearer tok-SECRET-1234' })).toEqual({ authorization: '***' })
  })
})

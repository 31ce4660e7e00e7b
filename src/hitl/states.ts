import * as sdk from '@botpress/sdk'
import type { Client, TIntegration } from './types'

type States = TIntegration['states']

/** A state's payload, or undefined when it does not exist (never written, expired or deleted). */
export async function readState<N extends keyof States & string>(
  client: Client,
  type: States[N]['type'],
  id: string,
  name: N,
): Promise<States[N]['payload'] | undefined> {
  try {
    const { state } = await client.getState({ type, id, name } as never)
    return ((state as { payload?: States[N]['payload'] | null }).payload ?? undefined) as States[N]['payload'] | undefined
  } catch (e) {
    if (sdk.isApiError(e) && e.type === 'ResourceNotFound') return undefined
    throw e
  }
}

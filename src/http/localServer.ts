import type { IncomingMessage, Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** Raised by readBody when a request body passes the given limit. */
export class BodyTooLargeError extends Error {}

/** The whole request body as UTF-8 text (servers of the sandbox, the stub helpdesk and the emulator). */
export async function readBody(req: IncomingMessage, maxBytes = Infinity): Promise<string> {
  return (await readBodyBytes(req, maxBytes)).toString('utf8')
}

/** The whole request body as bytes (file uploads). */
export function readBodyBytes(req: IncomingMessage, maxBytes = Infinity): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) {
        reject(new BodyTooLargeError(`The body is larger than ${maxBytes} bytes`))
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

/** Listens on 127.0.0.1 only (0 = a free port) and resolves with the port. */
export function listenOnLoopback(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

/** An error the REST API turns into `{error: {code, message}}` with this HTTP status. */
export class DeskError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

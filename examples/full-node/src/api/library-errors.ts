import { FaucetRequestError, FaucetUnavailableError } from '@betar/devnet'
import { AgentFileUnavailableError, AgentNotFoundError, RegistryError } from '@betar/identity'
import { ReputationError } from '@betar/reputation'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { BaseError, ContractFunctionRevertedError, HttpRequestError, TimeoutError as RpcTimeoutError } from 'viem'
import { type ApiErrorBody, errorBody } from './json.ts'

/** libp2p errors meaning the seller (or another peer) could not be reached or dropped the stream. */
const PEER_ERRORS = new Set([
  'DialError',
  'DialDeniedError',
  'NoValidAddressesError',
  'ConnectionFailedError',
  'ConnectionClosedError',
  'ConnectionClosingError',
  'EncryptionFailedError',
  'MuxerUnavailableError',
  'MuxerClosedError',
  'UnsupportedProtocolError',
  'StreamResetError',
  'StreamAbortedError',
  'StreamStateError',
  'UnexpectedPeerError',
  'LimitedConnectionError',
  'TooManyOutboundProtocolStreamsError'
])

type HttpError = { status: ContentfulStatusCode; body: ApiErrorBody }

const httpError = (status: ContentfulStatusCode, name: string, message: string): HttpError => ({
  status,
  body: errorBody(name, message)
})

/**
 * Maps what the libraries under the node throw (viem, libp2p, `@betar/identity`, `@betar/reputation`, the devnet
 * faucet) to a typed status and a message of ours — never the library's own text, which may name RPC URLs, contract
 * internals or local details. `undefined` when the error is none of these.
 */
export function libraryHttpError(err: unknown): HttpError | undefined {
  if (!(err instanceof Error)) return undefined
  // The RPC itself failing, however deep a package wrapped it, is the chain's fault, not the request's.
  const transport = transportError(err)
  if (transport != null) return transport
  if (err instanceof FaucetRequestError) return httpError(400, err.name, err.message)
  if (err instanceof FaucetUnavailableError) return httpError(403, 'FaucetUnavailable', err.message)
  if (err instanceof AgentNotFoundError || isNonexistentAgent(err)) {
    return httpError(404, 'AgentNotFound', 'no agent has this id on the Identity Registry')
  }
  if (err instanceof AgentFileUnavailableError) {
    return httpError(502, 'AgentFileUnavailable', "the agent's registration file could not be retrieved")
  }
  if (err instanceof RegistryError) return httpError(502, 'RegistryError', 'an Identity Registry call failed')
  if (err instanceof ReputationError) {
    return httpError(502, err.name, `reputation could not be computed: ${err.shortMessage}`)
  }
  if (err instanceof BaseError) return chainError(err)
  if (err.name === 'TimeoutError' || err.name === 'AbortError') {
    return httpError(504, 'Timeout', 'a peer or the chain did not answer in time; try again')
  }
  if (PEER_ERRORS.has(err.name) || err instanceof AggregateError) {
    return httpError(502, 'PeerUnreachable', 'the peer could not be reached or dropped the connection; try again')
  }
  return undefined
}

/** The RPC did not answer (in time) anywhere in `err`'s cause chain, or `undefined`. */
function transportError(err: Error): HttpError | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (!(e instanceof BaseError)) continue
    if (e.walk((x) => x instanceof RpcTimeoutError) instanceof RpcTimeoutError) {
      return httpError(504, 'ChainTimeout', 'the chain RPC did not answer in time; try again')
    }
    if (e.walk((x) => x instanceof HttpRequestError) instanceof HttpRequestError) {
      return httpError(502, 'ChainUnavailable', 'the chain RPC cannot be reached')
    }
  }
  return undefined
}

/** Any other viem error: a contract call reverted, or the RPC answered with an error. */
function chainError(err: BaseError): HttpError {
  if (err.walk((e) => e instanceof ContractFunctionRevertedError) instanceof ContractFunctionRevertedError) {
    return httpError(502, 'ContractReverted', 'a contract call reverted')
  }
  return httpError(502, 'ChainError', 'a chain RPC request failed')
}

/** Whether `err` (or its cause) is the Identity Registry's `ERC721NonexistentToken` revert. */
function isNonexistentAgent(err: Error): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (!(e instanceof BaseError)) continue
    const revert = e.walk((x) => x instanceof ContractFunctionRevertedError)
    if (revert instanceof ContractFunctionRevertedError && revert.data?.errorName === 'ERC721NonexistentToken') {
      return true
    }
  }
  return false
}

/**
 * `/x402/libp2p/1.0.0`: the Go prototype's (asabya/betar) x402 wire format — typed frames carrying Go-marshalled JSON.
 */
export * from './bodies.ts'
export * from './constants.ts'
export * from './errors.ts'
export {
  type DecodeV1FrameOptions,
  decodeV1Frame,
  encodeV1Frame,
  type ReadV1FrameOptions,
  readV1Frame,
  resolveV1MaxDataLength,
  type V1Frame,
  type V1FrameLimitOptions,
  writeV1Frame
} from './frame.ts'
export { type GoJsonValue, goJsonString } from './go-json.ts'
export {
  createV1Error,
  decodeV1Message,
  encodeV1Message,
  encodeV1MessageJson,
  type V1ErrorMessage,
  type V1EvmAuthorization,
  type V1EvmPayload,
  type V1Message,
  type V1MessageMap,
  type V1PaidRequestMessage,
  type V1PaymentEnvelope,
  type V1PaymentRequiredMessage,
  type V1PaymentRequirements,
  type V1RequestMessage,
  type V1ResponseMessage
} from './messages.ts'
export { V1_MESSAGE_SCHEMAS } from './schemas.ts'

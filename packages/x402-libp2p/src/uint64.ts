import type { Writer } from 'protons-runtime'

const TWO_32 = 0x1_0000_0000n
const TWO_64 = 0x1_0000_0000_0000_0000n

/**
 * Writes a protobuf `uint64` varint correctly over its whole range. protons-runtime 7.1.2 (and 8.0.1) builds the
 * 64-bit value from two signed 32-bit halves, so a value of 2^31 … 2^32 − 1 (high half 0, low half negative) comes
 * out corrupt: 2^31 as five zero bytes (read back as 0), 2^32 − 1 as `ff 00 00 00 00` (an undecodable frame). Unix
 * seconds reach 2^31 on 2038-01-19 (issue 13, fault 5). Below 2^32 the value goes through the 32-bit writer, which is
 * correct; from 2^32 on the high half is non-zero and the 64-bit writer is correct. The bytes are the standard varint
 * in every case, so the wire format is unchanged.
 *
 * The generated `pb/x402.ts` calls this instead of `w.uint64` (see scripts/generate.mjs).
 */
export function writeUint64(w: Writer, value: bigint): void {
  if (value < 0n || value >= TWO_64) throw new RangeError(`uint64 out of range: ${value}`)
  if (value < TWO_32) w.uint32(Number(value))
  else w.uint64(value)
}

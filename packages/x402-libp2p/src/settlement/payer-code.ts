import { type Address, type Hex, hexToBigInt, type PublicClient, pad, size, slice } from 'viem'

/**
 * Init code run by an `eth_call` without a recipient: it copies the 32-byte words appended to it into memory, replaces
 * each (an address) by that account's `EXTCODESIZE`, and returns them — the code sizes of many accounts in one request,
 * with no contract deployed. (An EIP-7702 delegated account has code: its 23-byte delegation designator.)
 *
 * ```
 * 0x00 PUSH1 0x24 DUP1 CODESIZE SUB DUP1 SWAP2 PUSH1 0 CODECOPY     ; mem[0..n) = the appended words; stack: n
 * 0x0a PUSH1 0                                                       ; i
 * 0x0c JUMPDEST DUP2 DUP2 LT ISZERO PUSH1 0x1f JUMPI                 ; while i < n
 * 0x14 DUP1 MLOAD EXTCODESIZE DUP2 MSTORE PUSH1 0x20 ADD PUSH1 0x0c JUMP ; mem[i] = extcodesize(mem[i]); i += 32
 * 0x1f JUMPDEST POP PUSH1 0 RETURN                                   ; return mem[0..n)
 * ```
 */
const INIT = '0x6024803803809160003960005b81811015601f5780513b8152602001600c565b506000f3' as const

/**
 * Which of `accounts` have code now (at the latest block), in one `eth_call` — falling back to one `eth_getCode` each
 * when the node refuses a call without a recipient. Throws when the chain could not be asked.
 */
export async function accountsWithCode(reader: PublicClient, accounts: readonly Address[]): Promise<boolean[]> {
  if (accounts.length === 0) return []
  const data = `${INIT}${accounts.map((a) => pad(a, { size: 32 }).slice(2)).join('')}` as Hex
  let returned: Hex | undefined
  try {
    returned = (await reader.request({ method: 'eth_call', params: [{ data }, 'latest'] as never })) as Hex
  } catch {
    returned = undefined
  }
  if (returned != null && size(returned) === 32 * accounts.length) {
    return accounts.map((_, i) => hexToBigInt(slice(returned, 32 * i, 32 * (i + 1))) > 0n)
  }
  const codes = await Promise.all(accounts.map((address) => reader.getCode({ address })))
  return codes.map((code) => code != null && code !== '0x')
}

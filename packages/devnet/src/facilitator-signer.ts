import type { FacilitatorEvmSigner } from '@x402/evm'
import { toFacilitatorEvmSigner } from '@x402/evm'
import type { Abi, Account, Chain, PublicActions, Transport, VerifyTypedDataParameters, WalletClient } from 'viem'

/** Options for {@link facilitatorSigner}. */
export interface FacilitatorSignerOptions {
  /** Receipt polling; viem's default on local chains is seconds. @default 20 */
  pollingInterval?: number
  /** How long settlement waits for a receipt before `settlement_pending`. @default `@x402/evm`'s */
  confirmationTimeoutMs?: number
}

/**
 * Adapts a viem wallet client (extended with public actions) to the signer `@x402/evm`'s exact-scheme facilitator
 * needs: reads, EIP-712 verification (ERC-1271/6492 aware), writes and receipts. For concurrent settlements give the
 * account a nonce manager.
 */
export function facilitatorSigner(
  client: WalletClient<Transport, Chain, Account> & PublicActions<Transport, Chain>,
  options: FacilitatorSignerOptions = {}
): FacilitatorEvmSigner {
  const pollingInterval = options.pollingInterval ?? 20
  return toFacilitatorEvmSigner(
    {
      address: client.account.address,
      getCode: (args) => client.getCode(args),
      readContract: (args) =>
        client.readContract({
          address: args.address,
          abi: args.abi as Abi,
          functionName: args.functionName,
          args: args.args ?? []
        }),
      verifyTypedData: (args) => client.verifyTypedData(args as unknown as VerifyTypedDataParameters),
      writeContract: (args) =>
        client.writeContract({
          address: args.address,
          abi: args.abi as Abi,
          functionName: args.functionName,
          args: args.args,
          ...(args.gas != null ? { gas: args.gas } : {}),
          ...(args.dataSuffix != null ? { dataSuffix: args.dataSuffix } : {})
        }),
      sendTransaction: (args) => client.sendTransaction({ to: args.to, data: args.data }),
      waitForTransactionReceipt: (args) =>
        client.waitForTransactionReceipt({
          hash: args.hash,
          pollingInterval,
          ...(args.timeout != null ? { timeout: args.timeout } : {})
        })
    },
    options.confirmationTimeoutMs != null ? { confirmationTimeoutMs: options.confirmationTimeoutMs } : {}
  )
}

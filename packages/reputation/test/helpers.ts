import { AGENT_WALLET_SET_TYPES, agentWalletDomain, identityRegistryAbi } from '@betar/contracts'
import {
  type Devnet,
  type DevnetAccount,
  eip3009Abi,
  startDevnet,
  TRANSFER_WITH_AUTHORIZATION_TYPES
} from '@betar/devnet'
import {
  type Address,
  createPublicClient,
  createWalletClient,
  type Hash,
  http,
  type PublicClient,
  parseEventLogs,
  toHex
} from 'viem'
import { caip10Account, type ProofOfPayment, type SignerClient } from '../src/index.ts'

export interface Env {
  devnet: Devnet
  publicClient: PublicClient
  wallet(account: DevnetAccount): SignerClient
  /** Registers an agent owned by `owner`; returns its id. */
  register(owner: DevnetAccount): Promise<bigint>
  /** Sets `wallet` as the agent's agentWallet (signed by the wallet, sent by the owner). */
  setAgentWallet(agentId: bigint, owner: DevnetAccount, wallet: DevnetAccount): Promise<void>
  /** A real EIP-3009 `transferWithAuthorization` from `from` to `to`, submitted by `relayer`; returns the proof. */
  pay(from: DevnetAccount, to: Address, amount: bigint, relayer: DevnetAccount): Promise<ProofOfPayment>
  agentRegistry: `eip155:${number}:${Address}`
}

export async function setupEnv(accounts = 8): Promise<Env> {
  const devnet = await startDevnet({ accounts })
  const publicClient = createPublicClient({ chain: devnet.chain, transport: http(devnet.rpcUrl) }) as PublicClient
  const wallet = (account: DevnetAccount): SignerClient =>
    createWalletClient({ account: account.account, chain: devnet.chain, transport: http(devnet.rpcUrl) })
  const { identityRegistry, usdc } = devnet.contracts
  const wait = async (hash: Hash) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw new Error(`tx ${hash} reverted`)
    return receipt
  }
  let nonce = 0
  return {
    devnet,
    publicClient,
    wallet,
    agentRegistry: caip10Account(devnet.chainId, identityRegistry),
    async register(owner) {
      const receipt = await wait(
        await wallet(owner).writeContract({
          address: identityRegistry,
          abi: identityRegistryAbi,
          functionName: 'register',
          args: ['ipfs://bafy-agent'],
          chain: devnet.chain
        })
      )
      const [event] = parseEventLogs({ abi: identityRegistryAbi, eventName: 'Registered', logs: receipt.logs })
      if (event == null) throw new Error('no Registered event')
      return event.args.agentId
    },
    async setAgentWallet(agentId, owner, newWallet) {
      const block = await publicClient.getBlock()
      const deadline = block.timestamp + 60n
      const signature = await newWallet.account.signTypedData({
        domain: agentWalletDomain(devnet.chainId, identityRegistry),
        types: AGENT_WALLET_SET_TYPES,
        primaryType: 'AgentWalletSet',
        message: { agentId, newWallet: newWallet.address, owner: owner.address, deadline }
      })
      await wait(
        await wallet(owner).writeContract({
          address: identityRegistry,
          abi: identityRegistryAbi,
          functionName: 'setAgentWallet',
          args: [agentId, newWallet.address, deadline, signature],
          chain: devnet.chain
        })
      )
    },
    async pay(from, to, amount, relayer) {
      const nonceHex = toHex(++nonce + Date.now() * 1000, { size: 32 })
      const validBefore = BigInt(Math.floor(Date.now() / 1000) + 3600)
      const signature = await from.account.signTypedData({
        domain: { name: 'USD Coin', version: '2', chainId: devnet.chainId, verifyingContract: usdc },
        types: TRANSFER_WITH_AUTHORIZATION_TYPES,
        primaryType: 'TransferWithAuthorization',
        message: { from: from.address, to, value: amount, validAfter: 0n, validBefore, nonce: nonceHex }
      })
      const txHash = await wallet(relayer).writeContract({
        address: usdc,
        abi: eip3009Abi,
        functionName: 'transferWithAuthorization',
        args: [from.address, to, amount, 0n, validBefore, nonceHex, signature],
        chain: devnet.chain
      })
      await wait(txHash)
      return {
        fromAddress: from.address,
        toAddress: to,
        chainId: devnet.chainId,
        txHash,
        amount: amount.toString(),
        asset: usdc,
        correlationId: `job-${nonce}`
      }
    }
  }
}

import {
  type Address,
  decodeErrorResult,
  decodeFunctionResult,
  encodeFunctionData,
  getContract,
  parseEther,
  zeroHash
} from 'viem'
import { describe, expect, it } from 'vitest'
import {
  identityRegistryAbi,
  identityRegistryBytecode,
  MULTICALL3_ADDRESS,
  multicall3Abi,
  multicall3Bytecode,
  multicall3DeployedBytecode
} from '../src/index.ts'
import { deploy, expectRevert, mined, useChain, type Wallet } from './helpers.ts'

let multicall: Address
let target: Address

const chain = useChain(async ({ publicClient, wallets }) => {
  multicall = await deploy(publicClient, wallets[0], { abi: multicall3Abi, bytecode: multicall3Bytecode })
  target = await deploy(publicClient, wallets[0], { abi: identityRegistryAbi, bytecode: identityRegistryBytecode })
  const identity = getContract({ address: target, abi: identityRegistryAbi, client: wallets[1] })
  await mined(publicClient, identity.write.register(['ipfs://agent-0']))
})

const mc = (wallet: Wallet) =>
  getContract({ address: multicall, abi: multicall3Abi, client: { public: chain.publicClient, wallet } })

const getVersion = () => encodeFunctionData({ abi: identityRegistryAbi, functionName: 'getVersion' })
const ownerOf = (id: bigint) => encodeFunctionData({ abi: identityRegistryAbi, functionName: 'ownerOf', args: [id] })
const version = (data: `0x${string}`) =>
  decodeFunctionResult({ abi: identityRegistryAbi, functionName: 'getVersion', data })

describe('Multicall3: aggregate family', () => {
  it('aggregate returns the block number and every return value', async () => {
    const [, alice] = chain.wallets
    const latest = await chain.publicClient.getBlockNumber()
    const { result } = await mc(alice).simulate.aggregate([
      [
        { target, callData: getVersion() },
        { target, callData: ownerOf(0n) }
      ]
    ])
    const [blockNumber, returnData] = result
    expect(blockNumber).toBeGreaterThanOrEqual(latest)
    expect(version(returnData[0]!)).toBe('2.0.0')
    expect(decodeFunctionResult({ abi: identityRegistryAbi, functionName: 'ownerOf', data: returnData[1]! })).toBe(
      alice.account.address
    )
  })

  it('aggregate reverts when any call fails', async () => {
    await expectRevert(
      mc(chain.wallets[0]).simulate.aggregate([
        [
          { target, callData: getVersion() },
          { target, callData: ownerOf(5n) }
        ]
      ]),
      'Multicall3: call failed'
    )
  })

  it('tryAggregate reports failures, or reverts on them when success is required', async () => {
    const calls = [
      { target, callData: ownerOf(5n) },
      { target, callData: getVersion() }
    ] as const
    const { result } = await mc(chain.wallets[0]).simulate.tryAggregate([false, calls])
    expect(result[0]?.success).toBe(false)
    expect(decodeErrorResult({ abi: identityRegistryAbi, data: result[0]!.returnData }).errorName).toBe(
      'ERC721NonexistentToken'
    )
    expect(result[1]?.success).toBe(true)
    expect(version(result[1]!.returnData)).toBe('2.0.0')
    await expectRevert(mc(chain.wallets[0]).simulate.tryAggregate([true, calls]), 'Multicall3: call failed')
  })

  it('tryBlockAndAggregate and blockAndAggregate add the block number and hash', async () => {
    const latest = await chain.publicClient.getBlockNumber()
    const m = mc(chain.wallets[0])
    const tried = await m.simulate.tryBlockAndAggregate([false, [{ target, callData: ownerOf(5n) }]])
    expect(tried.result[0]).toBeGreaterThanOrEqual(latest)
    expect(tried.result[1]).toBe(zeroHash) // blockhash() of the executing block is not known yet
    expect(tried.result[2][0]?.success).toBe(false)

    const strict = await m.simulate.blockAndAggregate([[{ target, callData: getVersion() }]])
    expect(strict.result[0]).toBeGreaterThanOrEqual(latest)
    expect(strict.result[2].map((r) => [r.success, version(r.returnData)])).toEqual([[true, '2.0.0']])
    await expectRevert(m.simulate.blockAndAggregate([[{ target, callData: ownerOf(5n) }]]), 'Multicall3: call failed')
  })

  it('aggregate3 honours allowFailure per call', async () => {
    const m = mc(chain.wallets[0])
    const { result } = await m.simulate.aggregate3([
      [
        { target, allowFailure: true, callData: ownerOf(5n) },
        { target, allowFailure: false, callData: getVersion() }
      ]
    ])
    expect(result.map((r) => r.success)).toEqual([false, true])
    await expectRevert(
      m.simulate.aggregate3([[{ target, allowFailure: false, callData: ownerOf(5n) }]]),
      'Multicall3: call failed'
    )
  })

  it('aggregate3Value forwards value per call and requires msg.value to match the total', async () => {
    const [sender, , bob, carol] = chain.wallets
    const before = await chain.publicClient.getBalance({ address: bob.account.address })
    const pay = (to: Address, value: bigint) => ({ target: to, allowFailure: false, value, callData: '0x' as const })
    await mined(
      chain.publicClient,
      mc(sender).write.aggregate3Value(
        [[pay(bob.account.address, parseEther('1')), pay(carol.account.address, parseEther('2'))]],
        { value: parseEther('3') }
      )
    )
    expect(await chain.publicClient.getBalance({ address: bob.account.address })).toBe(before + parseEther('1'))
    expect(await chain.publicClient.getBalance({ address: multicall })).toBe(0n)

    await expectRevert(
      mc(sender).simulate.aggregate3Value([[pay(bob.account.address, parseEther('1'))]], {
        account: sender.account,
        value: parseEther('2')
      }),
      'Multicall3: value mismatch'
    )
    // getVersion is not payable: the call fails, which reverts the batch unless failure is allowed.
    const paidCall = { target, value: 1n, callData: getVersion() }
    await expectRevert(
      mc(sender).simulate.aggregate3Value([[{ ...paidCall, allowFailure: false }]], {
        account: sender.account,
        value: 1n
      }),
      'Multicall3: call failed'
    )
    const { result } = await mc(sender).simulate.aggregate3Value([[{ ...paidCall, allowFailure: true }]], {
      account: sender.account,
      value: 1n
    })
    expect(result.map((r) => r.success)).toEqual([false])
  })
})

describe('Multicall3: block and account getters', () => {
  it('report the values of the block they run in', async () => {
    const [sender, alice] = chain.wallets
    await chain.testClient.mine({ blocks: 3 })
    const block = await chain.publicClient.getBlock()
    const parent = await chain.publicClient.getBlock({ blockNumber: block.number - 1n })
    const at = { blockNumber: block.number }
    const m = mc(sender)
    expect(await m.read.getBlockNumber(at)).toBe(block.number)
    expect(await m.read.getBlockHash([block.number - 1n], at)).toBe(parent.hash)
    expect(await m.read.getBlockHash([block.number + 100n], at)).toBe(zeroHash)
    expect(await m.read.getLastBlockHash(at)).toBe(parent.hash)
    expect(await m.read.getCurrentBlockTimestamp(at)).toBe(block.timestamp)
    expect(await m.read.getCurrentBlockGasLimit(at)).toBe(block.gasLimit)
    expect(await m.read.getBasefee(at)).toBe(block.baseFeePerGas)
    expect((await m.read.getCurrentBlockCoinbase(at)).toLowerCase()).toBe(block.miner.toLowerCase())
    expect(await m.read.getCurrentBlockDifficulty(at)).toBe(BigInt(block.mixHash))
    expect(await m.read.getChainId()).toBe(31337n)
    expect(await m.read.getEthBalance([alice.account.address], at)).toBe(
      await chain.publicClient.getBalance({ address: alice.account.address, ...at })
    )
  })
})

describe('Multicall3: canonical address', () => {
  it('its runtime bytecode equals what a deployment leaves on chain', async () => {
    expect(await chain.publicClient.getCode({ address: multicall })).toBe(multicall3DeployedBytecode)
  })

  it("serves viem's multicall once set at MULTICALL3_ADDRESS", async () => {
    const [, alice] = chain.wallets
    const contracts = [
      { address: target, abi: identityRegistryAbi, functionName: 'getVersion' },
      { address: target, abi: identityRegistryAbi, functionName: 'ownerOf', args: [0n] },
      { address: target, abi: identityRegistryAbi, functionName: 'ownerOf', args: [5n] }
    ] as const
    // Without code at the address every call fails; with ours there, the batch works.
    const empty = await chain.publicClient.multicall({ contracts, multicallAddress: MULTICALL3_ADDRESS })
    expect(empty.map((r) => r.status)).toEqual(['failure', 'failure', 'failure'])
    await chain.testClient.setCode({ address: MULTICALL3_ADDRESS, bytecode: multicall3DeployedBytecode })
    const results = await chain.publicClient.multicall({ contracts, multicallAddress: MULTICALL3_ADDRESS })
    expect(results[0]).toEqual({ status: 'success', result: '2.0.0' })
    expect(results[1]).toEqual({ status: 'success', result: alice.account.address })
    expect(results[2]?.status).toBe('failure')
    expect(results[2]?.error?.message).toContain('ERC721NonexistentToken')

    const strict = await chain.publicClient.multicall({
      contracts: contracts.slice(0, 2),
      allowFailure: false,
      multicallAddress: MULTICALL3_ADDRESS
    })
    expect(strict).toEqual(['2.0.0', alice.account.address])
    await expect(
      chain.publicClient.multicall({ contracts, allowFailure: false, multicallAddress: MULTICALL3_ADDRESS })
    ).rejects.toThrow(/ERC721NonexistentToken/)
  })
})

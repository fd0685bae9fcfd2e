// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

// ERC-1271 contract wallets for the settlement fault tests: one honest wallet with Safe-style signature schemes,
// and hostile ones that make a seller's settlement revert or burn gas.

bytes4 constant MAGIC = 0x1626ba7e;
bytes4 constant INVALID = 0xffffffff;

/// Recovers the owner from `r ‖ s ‖ v` (+ trailing bytes, ignored): v ∈ {0, 1} is a y-parity over the digest itself,
/// v ∈ {27, 28} a classic ECDSA v, v ∈ {31, 32} an eth_sign signature over the digest (v − 4), as Safe encodes them.
function recoverOwner(bytes32 hash, bytes calldata sig) pure returns (address) {
    if (sig.length < 65) return address(0);
    bytes32 r = bytes32(sig[0:32]);
    bytes32 s = bytes32(sig[32:64]);
    uint8 v = uint8(sig[64]);
    bytes32 digest = hash;
    if (v < 2) v += 27;
    else if (v == 31 || v == 32) {
        v -= 4;
        digest = keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", hash));
    }
    if (v != 27 && v != 28) return address(0);
    return ecrecover(digest, v, r, s);
}

/// An honest smart wallet: valid when its owner signed.
contract OwnedWallet {
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    function isValidSignature(bytes32 hash, bytes calldata sig) external view returns (bytes4) {
        return recoverOwner(hash, sig) == owner ? MAGIC : INVALID;
    }
}

/// Valid only when the transaction's gas price is 0 — what a simulation at gas price 0 sees, never a real transfer.
contract GasPriceGatedWallet {
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    function isValidSignature(bytes32 hash, bytes calldata sig) external view returns (bytes4) {
        if (tx.gasprice != 0) return INVALID;
        return recoverOwner(hash, sig) == owner ? MAGIC : INVALID;
    }
}

/// Burns about `rounds` × 150 gas before answering valid: a transfer it pays for costs the settler that much gas.
contract GasBurnerWallet {
    address public immutable owner;
    uint256 public immutable rounds;

    constructor(address owner_, uint256 rounds_) {
        owner = owner_;
        rounds = rounds_;
    }

    function isValidSignature(bytes32 hash, bytes calldata sig) external view returns (bytes4) {
        bytes32 x = hash;
        for (uint256 i = 0; i < rounds; i++) x = keccak256(abi.encodePacked(x, i));
        if (x == bytes32(0)) return INVALID;
        return recoverOwner(hash, sig) == owner ? MAGIC : INVALID;
    }
}

/// Answers valid until its owner flips it: the owner can make a settlement that passed simulation revert on-chain
/// (`mode` 1), or burn all the gas it is given (`mode` 2).
contract ToggleWallet {
    address public immutable owner;
    uint8 public mode;

    constructor(address owner_) {
        owner = owner_;
    }

    function setMode(uint8 mode_) external {
        require(msg.sender == owner, "not owner");
        mode = mode_;
    }

    function isValidSignature(bytes32 hash, bytes calldata sig) external view returns (bytes4) {
        if (mode == 1) return INVALID;
        if (mode == 2) {
            bytes32 x = hash;
            for (uint256 i = 0; ; i++) x = keccak256(abi.encodePacked(x, i));
        }
        return recoverOwner(hash, sig) == owner ? MAGIC : INVALID;
    }
}

/// An EIP-7702 delegate whose ERC-1271 check burns every unit of gas it is given. An externally owned payer that
/// delegates to it has code (0xef0100 ‖ this address), so the token asks it — inside whatever transaction carries the
/// payer's transfer, a seller's batch included.
contract GasBurnerDelegate {
    function isValidSignature(bytes32 hash, bytes calldata) external pure returns (bytes4) {
        bytes32 x = hash;
        for (uint256 i = 0; ; i++) x = keccak256(abi.encodePacked(x, i));
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721URIStorage} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721URIStorage.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/// @title ERC-8004 Identity Registry (2026-01-25 draft, version 2.0.0)
/// @notice Every agent is an ERC-721 token: `agentId` is the token id, `agentURI` its token URI.
/// Written from the CC0 interface text of ERC-8004; non-upgradeable, configured by its constructor.
/// @dev Behaviours beyond the spec text follow the documented behaviour of the official deployments:
/// agent ids start at 0, `agentWallet` is a reserved metadata key holding 20 packed address bytes, it starts as the
/// owner, changes only through an EIP-712 (or ERC-1271) proof signed by the new wallet, and is cleared on transfer.
contract IdentityRegistry is ERC721URIStorage, EIP712 {
    /// @notice One extra on-chain metadata entry passed to `register`.
    struct MetadataEntry {
        string metadataKey;
        bytes metadataValue;
    }

    /// @notice The reserved metadata key that holds the agent's payment wallet.
    string private constant AGENT_WALLET_KEY = "agentWallet";

    /// @dev keccak256 of the reserved key, compared against keccak256 of caller-supplied keys.
    bytes32 private constant AGENT_WALLET_KEY_HASH = keccak256(bytes(AGENT_WALLET_KEY));

    /// @notice EIP-712 struct type signed by the new wallet in `setAgentWallet`.
    bytes32 private constant AGENT_WALLET_SET_TYPEHASH =
        keccak256("AgentWalletSet(uint256 agentId,address newWallet,address owner,uint256 deadline)");

    /// @notice Furthest in the future a `setAgentWallet` deadline may lie.
    uint256 private constant MAX_DEADLINE_DELAY = 5 minutes;

    /// @dev The id the next registration receives.
    uint256 private _nextAgentId;

    /// @dev agentId => metadata key => value.
    mapping(uint256 agentId => mapping(string metadataKey => bytes metadataValue)) private _metadata;

    event Registered(uint256 indexed agentId, string agentURI, address indexed owner);
    event URIUpdated(uint256 indexed agentId, string newURI, address indexed updatedBy);
    event MetadataSet(
        uint256 indexed agentId, string indexed indexedMetadataKey, string metadataKey, bytes metadataValue
    );

    constructor() ERC721("AgentIdentity", "AGENT") EIP712("ERC8004IdentityRegistry", "1") {}

    /// @notice Registers a new agent owned by the caller, without an agentURI (set it later with `setAgentURI`).
    function register() external returns (uint256 agentId) {
        agentId = _register("");
    }

    /// @notice Registers a new agent owned by the caller.
    function register(string calldata agentURI) external returns (uint256 agentId) {
        agentId = _register(agentURI);
    }

    /// @notice Registers a new agent owned by the caller with extra metadata entries (never `agentWallet`).
    function register(string calldata agentURI, MetadataEntry[] calldata metadata)
        external
        returns (uint256 agentId)
    {
        agentId = _register(agentURI);
        for (uint256 i = 0; i < metadata.length; i++) {
            _setMetadataChecked(agentId, metadata[i].metadataKey, metadata[i].metadataValue);
        }
    }

    /// @notice Replaces the agentURI. Owner or approved operator only.
    function setAgentURI(uint256 agentId, string calldata newURI) external {
        _requireAuthorized(agentId);
        _setTokenURI(agentId, newURI);
        emit URIUpdated(agentId, newURI, msg.sender);
    }

    /// @notice Reads one metadata entry; empty when unset.
    function getMetadata(uint256 agentId, string memory metadataKey) external view returns (bytes memory) {
        return _metadata[agentId][metadataKey];
    }

    /// @notice Writes one metadata entry. Owner or approved operator only; `agentWallet` is reserved.
    function setMetadata(uint256 agentId, string memory metadataKey, bytes memory metadataValue) external {
        _requireAuthorized(agentId);
        _setMetadataChecked(agentId, metadataKey, metadataValue);
    }

    /// @notice Sets the agent's wallet, proven by an EIP-712 signature from `newWallet` (ERC-1271 for contracts).
    /// @param deadline Unix time after which the signature is void; at most `MAX_DEADLINE_DELAY` ahead.
    function setAgentWallet(uint256 agentId, address newWallet, uint256 deadline, bytes calldata signature) external {
        address owner = _requireAuthorized(agentId);
        require(newWallet != address(0), "bad wallet");
        require(block.timestamp <= deadline, "expired");
        require(deadline <= block.timestamp + MAX_DEADLINE_DELAY, "deadline too far");
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(AGENT_WALLET_SET_TYPEHASH, agentId, newWallet, owner, deadline)));
        require(_isValidWalletSignature(newWallet, digest, signature), "invalid wallet sig");
        _writeMetadata(agentId, AGENT_WALLET_KEY, abi.encodePacked(newWallet));
    }

    /// @notice The agent's wallet, or `address(0)` when unset.
    function getAgentWallet(uint256 agentId) external view returns (address) {
        bytes memory value = _metadata[agentId][AGENT_WALLET_KEY];
        if (value.length != 20) return address(0);
        return address(bytes20(value));
    }

    /// @notice Clears the agent's wallet. Owner or approved operator only.
    function unsetAgentWallet(uint256 agentId) external {
        _requireAuthorized(agentId);
        _writeMetadata(agentId, AGENT_WALLET_KEY, "");
    }

    /// @notice Whether `spender` is the owner of `agentId` or approved for it (single-token or for all).
    /// @dev Reverts with `ERC721NonexistentToken` when the agent does not exist.
    function isAuthorizedOrOwner(address spender, uint256 agentId) public view returns (bool) {
        return _isAuthorized(ownerOf(agentId), spender, agentId);
    }

    /// @notice The implemented ERC-8004 contract version.
    function getVersion() external pure returns (string memory) {
        return "2.0.0";
    }

    /// @dev Mints the next id to the caller, stores the URI, and sets the wallet to the owner.
    /// Event order: Transfer, MetadataUpdate (when a URI is given), Registered, MetadataSet(agentWallet).
    function _register(string memory agentURI) private returns (uint256 agentId) {
        agentId = _nextAgentId++;
        _safeMint(msg.sender, agentId);
        if (bytes(agentURI).length > 0) _setTokenURI(agentId, agentURI);
        emit Registered(agentId, agentURI, msg.sender);
        _writeMetadata(agentId, AGENT_WALLET_KEY, abi.encodePacked(msg.sender));
    }

    /// @dev Reverts unless the caller may manage `agentId`; returns the owner.
    function _requireAuthorized(uint256 agentId) private view returns (address owner) {
        owner = ownerOf(agentId);
        require(_isAuthorized(owner, msg.sender, agentId), "Not authorized");
    }

    function _setMetadataChecked(uint256 agentId, string memory metadataKey, bytes memory metadataValue) private {
        require(keccak256(bytes(metadataKey)) != AGENT_WALLET_KEY_HASH, "reserved key");
        _writeMetadata(agentId, metadataKey, metadataValue);
    }

    function _writeMetadata(uint256 agentId, string memory metadataKey, bytes memory metadataValue) private {
        _metadata[agentId][metadataKey] = metadataValue;
        emit MetadataSet(agentId, metadataKey, metadataKey, metadataValue);
    }

    /// @dev ECDSA first (also covers EOAs with EIP-7702 code), then ERC-1271 when the wallet has code.
    function _isValidWalletSignature(address wallet, bytes32 digest, bytes calldata signature)
        private
        view
        returns (bool)
    {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == wallet) return true;
        return wallet.code.length > 0 && SignatureChecker.isValidERC1271SignatureNow(wallet, digest, signature);
    }

    /// @dev Clears the wallet whenever an existing agent changes hands (mint and burn excluded).
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = super._update(to, tokenId, auth);
        if (from != address(0) && to != address(0) && from != to && _metadata[tokenId][AGENT_WALLET_KEY].length > 0) {
            _writeMetadata(tokenId, AGENT_WALLET_KEY, "");
        }
    }
}

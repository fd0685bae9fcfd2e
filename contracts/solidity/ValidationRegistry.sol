// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @dev The one Identity Registry view the Validation Registry needs.
interface IAgentAuthorization {
    function isAuthorizedOrOwner(address spender, uint256 agentId) external view returns (bool);
}

/// @title ERC-8004 Validation Registry (2026-01-25 draft, version 2.0.0)
/// @notice An agent's owner asks a validator to check some work; the validator answers with a score 0..100.
/// Written from the CC0 interface text of ERC-8004; non-upgradeable, configured by its constructor.
/// @dev `requestHash` is a global key chosen by the requester. Each response overwrites the stored status (the events
/// keep the history), so a validator may answer several times, e.g. "soft" then "hard" finality told apart by `tag`.
contract ValidationRegistry {
    struct Status {
        address validatorAddress;
        uint8 response;
        bool hasResponse;
        uint256 agentId;
        bytes32 responseHash;
        uint256 lastUpdate;
        string tag;
    }

    uint8 private constant MAX_RESPONSE = 100;

    address private immutable _identityRegistry;

    mapping(bytes32 requestHash => Status) private _statuses;
    mapping(uint256 agentId => bytes32[]) private _agentValidations;
    mapping(address validator => bytes32[]) private _validatorRequests;

    event ValidationRequest(
        address indexed validatorAddress, uint256 indexed agentId, string requestURI, bytes32 indexed requestHash
    );
    event ValidationResponse(
        address indexed validatorAddress,
        uint256 indexed agentId,
        bytes32 indexed requestHash,
        uint8 response,
        string responseURI,
        bytes32 responseHash,
        string tag
    );

    constructor(address identityRegistry) {
        require(identityRegistry != address(0), "bad identity");
        _identityRegistry = identityRegistry;
    }

    /// @notice The Identity Registry whose agents are validated here.
    function getIdentityRegistry() external view returns (address identityRegistry) {
        return _identityRegistry;
    }

    /// @notice Asks `validatorAddress` to validate work of `agentId`. Owner or approved operator only.
    /// @param requestHash keccak256 of the request payload at `requestURI`; must not have been used before.
    function validationRequest(address validatorAddress, uint256 agentId, string calldata requestURI, bytes32 requestHash)
        external
    {
        require(validatorAddress != address(0), "bad validator");
        Status storage status = _statuses[requestHash];
        require(status.validatorAddress == address(0), "exists");
        require(IAgentAuthorization(_identityRegistry).isAuthorizedOrOwner(msg.sender, agentId), "Not authorized");
        status.validatorAddress = validatorAddress;
        status.agentId = agentId;
        status.lastUpdate = block.timestamp;
        _agentValidations[agentId].push(requestHash);
        _validatorRequests[validatorAddress].push(requestHash);
        emit ValidationRequest(validatorAddress, agentId, requestURI, requestHash);
    }

    /// @notice Answers a request. Only its validator; `response` is 0..100 and replaces any earlier answer.
    function validationResponse(
        bytes32 requestHash,
        uint8 response,
        string calldata responseURI,
        bytes32 responseHash,
        string calldata tag
    ) external {
        Status storage status = _statuses[requestHash];
        require(status.validatorAddress != address(0), "unknown");
        require(status.validatorAddress == msg.sender, "not validator");
        require(response <= MAX_RESPONSE, "resp>100");
        status.response = response;
        status.hasResponse = true;
        status.responseHash = responseHash;
        status.tag = tag;
        status.lastUpdate = block.timestamp;
        emit ValidationResponse(msg.sender, status.agentId, requestHash, response, responseURI, responseHash, tag);
    }

    /// @notice The latest state of a request. Reverts with `"unknown"` for a `requestHash` never requested.
    function getValidationStatus(bytes32 requestHash)
        external
        view
        returns (
            address validatorAddress,
            uint256 agentId,
            uint8 response,
            bytes32 responseHash,
            string memory tag,
            uint256 lastUpdate
        )
    {
        Status storage status = _statuses[requestHash];
        require(status.validatorAddress != address(0), "unknown");
        return (
            status.validatorAddress, status.agentId, status.response, status.responseHash, status.tag, status.lastUpdate
        );
    }

    /// @notice Count and truncated average of the answered requests of an agent. An empty `validatorAddresses`
    /// means every validator; an empty `tag` means any tag.
    function getSummary(uint256 agentId, address[] calldata validatorAddresses, string calldata tag)
        external
        view
        returns (uint64 count, uint8 averageResponse)
    {
        bytes32[] storage requestHashes = _agentValidations[agentId];
        bytes32 tagHash = keccak256(bytes(tag));
        bool anyTag = bytes(tag).length == 0;
        uint256 sum;
        for (uint256 i = 0; i < requestHashes.length; i++) {
            Status storage status = _statuses[requestHashes[i]];
            if (!status.hasResponse) continue;
            if (!anyTag && keccak256(bytes(status.tag)) != tagHash) continue;
            if (validatorAddresses.length > 0 && !_contains(validatorAddresses, status.validatorAddress)) continue;
            sum += status.response;
            count++;
        }
        if (count > 0) averageResponse = uint8(sum / count);
    }

    /// @notice Every request hash ever made for the agent, in request order.
    function getAgentValidations(uint256 agentId) external view returns (bytes32[] memory requestHashes) {
        return _agentValidations[agentId];
    }

    /// @notice Every request hash ever addressed to the validator, in request order.
    function getValidatorRequests(address validatorAddress) external view returns (bytes32[] memory requestHashes) {
        return _validatorRequests[validatorAddress];
    }

    /// @notice The implemented ERC-8004 contract version.
    function getVersion() external pure returns (string memory) {
        return "2.0.0";
    }

    function _contains(address[] calldata list, address item) private pure returns (bool) {
        for (uint256 i = 0; i < list.length; i++) {
            if (list[i] == item) return true;
        }
        return false;
    }
}

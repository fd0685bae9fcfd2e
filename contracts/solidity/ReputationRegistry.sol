// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @dev The one Identity Registry view the Reputation Registry needs.
interface IAgentAuthorization {
    function isAuthorizedOrOwner(address spender, uint256 agentId) external view returns (bool);
}

/// @title ERC-8004 Reputation Registry (2026-01-25 draft, version 2.0.0)
/// @notice Permissionless feedback on agents: any address except the agent's owner and approved operators may rate it.
/// Written from the CC0 interface text of ERC-8004; non-upgradeable, configured by its constructor.
/// @dev Only `value`, `valueDecimals`, the two tags and the revoked flag are stored; `endpoint`, `feedbackURI` and
/// `feedbackHash` live in the `NewFeedback` event. Feedback indexes are 1-based per (agent, client).
contract ReputationRegistry {
    struct Feedback {
        int128 value;
        uint8 valueDecimals;
        bool isRevoked;
        string tag1;
        string tag2;
    }

    /// @dev The filters of a read, bundled to keep the stack shallow.
    struct Filter {
        bytes32 tag1Hash;
        bytes32 tag2Hash;
        bool includeRevoked;
    }

    /// @dev Column-wise result of `readAllFeedback`.
    struct FeedbackColumns {
        address[] clients;
        uint64[] feedbackIndexes;
        int128[] values;
        uint8[] valueDecimals;
        string[] tag1s;
        string[] tag2s;
        bool[] revokedStatuses;
    }

    uint8 private constant MAX_DECIMALS = 18;
    int256 private constant MAX_ABS_VALUE = 1e38;
    int256 private constant WAD = 1e18;

    address private immutable _identityRegistry;

    /// @dev agentId => client => feedback list (index i holds feedbackIndex i + 1).
    mapping(uint256 agentId => mapping(address client => Feedback[])) private _feedback;
    /// @dev agentId => clients in first-feedback order, unique.
    mapping(uint256 agentId => address[]) private _clients;
    mapping(uint256 agentId => mapping(address client => bool)) private _isClient;
    /// @dev agentId => client => feedbackIndex => responders in first-response order, unique.
    mapping(uint256 agentId => mapping(address client => mapping(uint64 feedbackIndex => address[]))) private _responders;
    /// @dev agentId => client => feedbackIndex => responder => number of responses.
    mapping(
        uint256 agentId => mapping(address client => mapping(uint64 feedbackIndex => mapping(address responder => uint64)))
    ) private _responseCount;
    /// @dev agentId => client => feedbackIndex => number of responses from anyone.
    mapping(uint256 agentId => mapping(address client => mapping(uint64 feedbackIndex => uint64))) private _totalResponses;

    event NewFeedback(
        uint256 indexed agentId,
        address indexed clientAddress,
        uint64 feedbackIndex,
        int128 value,
        uint8 valueDecimals,
        string indexed indexedTag1,
        string tag1,
        string tag2,
        string endpoint,
        string feedbackURI,
        bytes32 feedbackHash
    );
    event FeedbackRevoked(uint256 indexed agentId, address indexed clientAddress, uint64 indexed feedbackIndex);
    event ResponseAppended(
        uint256 indexed agentId,
        address indexed clientAddress,
        uint64 feedbackIndex,
        address indexed responder,
        string responseURI,
        bytes32 responseHash
    );

    constructor(address identityRegistry) {
        require(identityRegistry != address(0), "bad identity");
        _identityRegistry = identityRegistry;
    }

    /// @notice The Identity Registry whose agents this registry rates.
    function getIdentityRegistry() external view returns (address identityRegistry) {
        return _identityRegistry;
    }

    /// @notice Rates an agent. `value` is a signed fixed-point number with `valueDecimals` (0..18) decimals.
    /// @dev Reverts with `ERC721NonexistentToken` (from the Identity Registry) when the agent does not exist.
    function giveFeedback(
        uint256 agentId,
        int128 value,
        uint8 valueDecimals,
        string memory tag1,
        string memory tag2,
        string memory endpoint,
        string memory feedbackURI,
        bytes32 feedbackHash
    ) external {
        require(valueDecimals <= MAX_DECIMALS, "too many decimals");
        require(value <= MAX_ABS_VALUE && value >= -MAX_ABS_VALUE, "value too large");
        require(
            !IAgentAuthorization(_identityRegistry).isAuthorizedOrOwner(msg.sender, agentId),
            "Self-feedback not allowed"
        );
        uint64 feedbackIndex = _store(agentId, value, valueDecimals, tag1, tag2);
        emit NewFeedback(
            agentId,
            msg.sender,
            feedbackIndex,
            value,
            valueDecimals,
            tag1,
            tag1,
            tag2,
            endpoint,
            feedbackURI,
            feedbackHash
        );
    }

    /// @notice Revokes the caller's own feedback. It stays readable, flagged as revoked.
    function revokeFeedback(uint256 agentId, uint64 feedbackIndex) external {
        Feedback storage feedback = _at(agentId, msg.sender, feedbackIndex);
        require(!feedback.isRevoked, "Already revoked");
        feedback.isRevoked = true;
        emit FeedbackRevoked(agentId, msg.sender, feedbackIndex);
    }

    /// @notice Attaches a response (a refund proof, an agent's reply, a spam tag, ...) to a feedback. Open to anyone.
    function appendResponse(
        uint256 agentId,
        address clientAddress,
        uint64 feedbackIndex,
        string calldata responseURI,
        bytes32 responseHash
    ) external {
        require(feedbackIndex > 0, "index must be > 0");
        require(bytes(responseURI).length > 0, "Empty URI");
        _at(agentId, clientAddress, feedbackIndex);
        if (_responseCount[agentId][clientAddress][feedbackIndex][msg.sender] == 0) {
            _responders[agentId][clientAddress][feedbackIndex].push(msg.sender);
        }
        _responseCount[agentId][clientAddress][feedbackIndex][msg.sender]++;
        _totalResponses[agentId][clientAddress][feedbackIndex]++;
        emit ResponseAppended(agentId, clientAddress, feedbackIndex, msg.sender, responseURI, responseHash);
    }

    /// @notice Count and average of the non-revoked feedback from `clientAddresses` (required), optionally by tag.
    /// @dev Values are normalised to 18 decimals, averaged (truncating), and returned with the most frequent
    /// `valueDecimals` among the counted entries (ties go to the fewest decimals).
    function getSummary(uint256 agentId, address[] calldata clientAddresses, string memory tag1, string memory tag2)
        external
        view
        returns (uint64 count, int128 summaryValue, uint8 summaryValueDecimals)
    {
        require(clientAddresses.length > 0, "clientAddresses required");
        Filter memory filter = Filter(_tagHash(tag1), _tagHash(tag2), false);
        int256 sum;
        uint64[19] memory decimalsSeen;
        for (uint256 c = 0; c < clientAddresses.length; c++) {
            Feedback[] storage list = _feedback[agentId][clientAddresses[c]];
            for (uint256 i = 0; i < list.length; i++) {
                Feedback storage feedback = list[i];
                if (!_matches(feedback, filter)) continue;
                sum += int256(feedback.value) * int256(10 ** (MAX_DECIMALS - feedback.valueDecimals));
                decimalsSeen[feedback.valueDecimals]++;
                count++;
            }
        }
        if (count == 0) return (0, 0, 0);
        for (uint8 d = 1; d <= MAX_DECIMALS; d++) {
            if (decimalsSeen[d] > decimalsSeen[summaryValueDecimals]) summaryValueDecimals = d;
        }
        int256 average = sum / int256(uint256(count));
        summaryValue = int128(average / int256(10 ** (MAX_DECIMALS - summaryValueDecimals)));
    }

    /// @notice One feedback entry. Reverts when `feedbackIndex` is 0 or beyond the client's last index.
    function readFeedback(uint256 agentId, address clientAddress, uint64 feedbackIndex)
        external
        view
        returns (int128 value, uint8 valueDecimals, string memory tag1, string memory tag2, bool isRevoked)
    {
        Feedback storage feedback = _at(agentId, clientAddress, feedbackIndex);
        return (feedback.value, feedback.valueDecimals, feedback.tag1, feedback.tag2, feedback.isRevoked);
    }

    /// @notice All feedback on an agent, column-wise. An empty `clientAddresses` means every client; an empty tag
    /// means no filter on it; revoked entries are skipped unless `includeRevoked`.
    function readAllFeedback(
        uint256 agentId,
        address[] memory clientAddresses,
        string memory tag1,
        string memory tag2,
        bool includeRevoked
    )
        external
        view
        returns (
            address[] memory clients,
            uint64[] memory feedbackIndexes,
            int128[] memory values,
            uint8[] memory valueDecimals,
            string[] memory tag1s,
            string[] memory tag2s,
            bool[] memory revokedStatuses
        )
    {
        if (clientAddresses.length == 0) clientAddresses = _clients[agentId];
        Filter memory filter = Filter(_tagHash(tag1), _tagHash(tag2), includeRevoked);
        FeedbackColumns memory out = _collect(agentId, clientAddresses, filter);
        return (out.clients, out.feedbackIndexes, out.values, out.valueDecimals, out.tag1s, out.tag2s, out.revokedStatuses);
    }

    /// @notice Number of responses. `clientAddress` 0 means every client and every index (`feedbackIndex` is then
    /// ignored), `feedbackIndex` 0 every index of that client, and an empty `responders` list every responder. An
    /// index beyond the client's last counts 0.
    function getResponseCount(uint256 agentId, address clientAddress, uint64 feedbackIndex, address[] calldata responders)
        external
        view
        returns (uint64 count)
    {
        if (clientAddress != address(0) && feedbackIndex != 0) {
            return _countResponses(agentId, clientAddress, feedbackIndex, responders);
        }
        address[] memory clients;
        if (clientAddress == address(0)) {
            clients = _clients[agentId];
        } else {
            clients = new address[](1);
            clients[0] = clientAddress;
        }
        for (uint256 c = 0; c < clients.length; c++) {
            uint64 last = uint64(_feedback[agentId][clients[c]].length);
            for (uint64 i = 1; i <= last; i++) {
                count += _countResponses(agentId, clients[c], i, responders);
            }
        }
    }

    /// @notice Every address that ever gave feedback on the agent, in first-feedback order.
    function getClients(uint256 agentId) external view returns (address[] memory) {
        return _clients[agentId];
    }

    /// @notice The client's highest feedback index for the agent; 0 when it never gave feedback.
    function getLastIndex(uint256 agentId, address clientAddress) external view returns (uint64) {
        return uint64(_feedback[agentId][clientAddress].length);
    }

    /// @notice The implemented ERC-8004 contract version.
    function getVersion() external pure returns (string memory) {
        return "2.0.0";
    }

    function _store(uint256 agentId, int128 value, uint8 valueDecimals, string memory tag1, string memory tag2)
        private
        returns (uint64 feedbackIndex)
    {
        Feedback[] storage list = _feedback[agentId][msg.sender];
        list.push(Feedback(value, valueDecimals, false, tag1, tag2));
        if (!_isClient[agentId][msg.sender]) {
            _isClient[agentId][msg.sender] = true;
            _clients[agentId].push(msg.sender);
        }
        return uint64(list.length);
    }

    function _at(uint256 agentId, address clientAddress, uint64 feedbackIndex)
        private
        view
        returns (Feedback storage)
    {
        Feedback[] storage list = _feedback[agentId][clientAddress];
        require(feedbackIndex > 0, "index must be > 0");
        require(feedbackIndex <= list.length, "index out of bounds");
        return list[feedbackIndex - 1];
    }

    function _collect(uint256 agentId, address[] memory clientAddresses, Filter memory filter)
        private
        view
        returns (FeedbackColumns memory out)
    {
        uint256 total;
        for (uint256 c = 0; c < clientAddresses.length; c++) {
            Feedback[] storage list = _feedback[agentId][clientAddresses[c]];
            for (uint256 i = 0; i < list.length; i++) {
                if (_matches(list[i], filter)) total++;
            }
        }
        out.clients = new address[](total);
        out.feedbackIndexes = new uint64[](total);
        out.values = new int128[](total);
        out.valueDecimals = new uint8[](total);
        out.tag1s = new string[](total);
        out.tag2s = new string[](total);
        out.revokedStatuses = new bool[](total);
        uint256 n;
        for (uint256 c = 0; c < clientAddresses.length; c++) {
            Feedback[] storage list = _feedback[agentId][clientAddresses[c]];
            for (uint256 i = 0; i < list.length; i++) {
                Feedback storage feedback = list[i];
                if (!_matches(feedback, filter)) continue;
                out.clients[n] = clientAddresses[c];
                out.feedbackIndexes[n] = uint64(i + 1);
                out.values[n] = feedback.value;
                out.valueDecimals[n] = feedback.valueDecimals;
                out.tag1s[n] = feedback.tag1;
                out.tag2s[n] = feedback.tag2;
                out.revokedStatuses[n] = feedback.isRevoked;
                n++;
            }
        }
    }

    function _countResponses(uint256 agentId, address clientAddress, uint64 feedbackIndex, address[] calldata responders)
        private
        view
        returns (uint64 count)
    {
        if (responders.length == 0) return _totalResponses[agentId][clientAddress][feedbackIndex];
        for (uint256 r = 0; r < responders.length; r++) {
            count += _responseCount[agentId][clientAddress][feedbackIndex][responders[r]];
        }
    }

    function _matches(Feedback storage feedback, Filter memory filter) private view returns (bool) {
        if (feedback.isRevoked && !filter.includeRevoked) return false;
        if (filter.tag1Hash != bytes32(0) && keccak256(bytes(feedback.tag1)) != filter.tag1Hash) return false;
        if (filter.tag2Hash != bytes32(0) && keccak256(bytes(feedback.tag2)) != filter.tag2Hash) return false;
        return true;
    }

    /// @dev 0 (no filter) for the empty tag, keccak256 otherwise.
    function _tagHash(string memory tag) private pure returns (bytes32) {
        return bytes(tag).length == 0 ? bytes32(0) : keccak256(bytes(tag));
    }
}

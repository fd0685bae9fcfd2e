// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

// Calls `target` with each payload in one transaction: a payer bundles several EIP-3009 authorizations.
contract Batch {
    function run(address target, bytes[] calldata data) external {
        for (uint256 i = 0; i < data.length; i++) {
            (bool ok, bytes memory ret) = target.call(data[i]);
            if (!ok) {
                assembly {
                    revert(add(ret, 32), mload(ret))
                }
            }
        }
    }
}

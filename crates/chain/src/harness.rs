//! A minimal in-memory EVM (revm, mainnet rules) to deploy contracts and call them, reporting gas.
//!
//! Transactions are sent from a fixed externally owned account with gas price 0 (no balance needed), so the
//! reported gas is exactly the EVM gas of the transaction: intrinsic (21,000 + calldata) plus execution,
//! after refunds.

use revm::context::result::{ExecutionResult, Output};
use revm::context::TxEnv;
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::hardfork::SpecId;
use revm::primitives::{Address, Bytes, TxKind};
use revm::{Context, ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainnetEvm};

use crate::error::{ChainError, Result};

type Db = CacheDB<EmptyDB>;
type Ctx = revm::handler::MainnetContext<Db>;

/// Default sender of the harness's transactions.
pub const DEFAULT_CALLER: [u8; 20] = [
    0xc0, 0xff, 0xee, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
];
/// Gas limit of every transaction (below the EIP-7825 per-transaction cap of 2^24).
pub const TX_GAS_LIMIT: u64 = 16_000_000;
/// The hard fork the harness executes under.
pub const SPEC: SpecId = SpecId::OSAKA;

/// How a transaction ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallStatus {
    /// Returned normally.
    Success,
    /// Reverted with `REVERT` (output holds the revert data).
    Revert,
    /// Halted exceptionally (out of gas, invalid opcode, ...), with revm's reason.
    Halt(String),
}

/// A log (event) emitted by a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvmLog {
    /// Emitting contract.
    pub address: [u8; 20],
    /// Topics (topic 0 is the event signature hash for non-anonymous events).
    pub topics: Vec<[u8; 32]>,
    /// Non-indexed data.
    pub data: Vec<u8>,
}

/// Result of one call transaction.
#[derive(Clone, Debug)]
pub struct CallOutcome {
    /// How the transaction ended.
    pub status: CallStatus,
    /// Gas used by the transaction (intrinsic + execution, after refunds), as in its receipt.
    pub gas_used: u64,
    /// Return data (or revert data).
    pub output: Vec<u8>,
    /// Logs emitted (empty unless successful).
    pub logs: Vec<EvmLog>,
}

impl CallOutcome {
    /// Whether the call returned normally.
    pub fn is_success(&self) -> bool {
        self.status == CallStatus::Success
    }

    /// The 4-byte selector of the revert data (custom error), if the call reverted with one.
    pub fn revert_selector(&self) -> Option<[u8; 4]> {
        if self.status != CallStatus::Revert {
            return None;
        }
        self.output.get(..4).and_then(|s| s.try_into().ok())
    }
}

/// A deployed contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// Address of the new contract.
    pub address: [u8; 20],
    /// Gas used by the creation transaction.
    pub gas_used: u64,
}

/// In-memory EVM with committed state across transactions.
pub struct RevmHarness {
    evm: MainnetEvm<Ctx>,
    caller: Address,
}

impl Default for RevmHarness {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for RevmHarness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevmHarness")
            .field("caller", &self.caller)
            .finish_non_exhaustive()
    }
}

impl RevmHarness {
    /// A fresh, empty chain state under [`SPEC`] rules.
    pub fn new() -> Self {
        let ctx: Ctx = Context::new(CacheDB::new(EmptyDB::default()), SPEC)
            .modify_cfg_chained(|cfg| cfg.disable_nonce_check = true);
        Self {
            evm: ctx.build_mainnet(),
            caller: Address::from(DEFAULT_CALLER),
        }
    }

    /// The sender of subsequent transactions.
    pub fn caller(&self) -> [u8; 20] {
        self.caller.into_array()
    }

    /// Change the sender of subsequent transactions.
    pub fn set_caller(&mut self, caller: [u8; 20]) {
        self.caller = Address::from(caller);
    }

    fn tx(&self, kind: TxKind, data: Vec<u8>) -> TxEnv {
        TxEnv::builder()
            .caller(self.caller)
            .kind(kind)
            .data(Bytes::from(data))
            .gas_limit(TX_GAS_LIMIT)
            .gas_price(0)
            .build_fill()
    }

    /// Deploy `creation` bytecode followed by ABI-encoded `constructor_args`.
    pub fn deploy(&mut self, creation: &[u8], constructor_args: &[u8]) -> Result<Deployment> {
        let mut code = Vec::with_capacity(creation.len() + constructor_args.len());
        code.extend_from_slice(creation);
        code.extend_from_slice(constructor_args);
        let tx = self.tx(TxKind::Create, code);
        let res = self
            .evm
            .transact_commit(tx)
            .map_err(|e| ChainError::Evm(format!("{e:?}")))?;
        let gas_used = res.tx_gas_used();
        match res {
            ExecutionResult::Success {
                output: Output::Create(_, Some(addr)),
                ..
            } => Ok(Deployment {
                address: addr.into_array(),
                gas_used,
            }),
            ExecutionResult::Success { .. } => Err(ChainError::DeployFailed(
                "creation returned no address".into(),
            )),
            ExecutionResult::Revert { output, .. } => Err(ChainError::DeployFailed(format!(
                "reverted: 0x{}",
                hex::encode(output)
            ))),
            ExecutionResult::Halt { reason, .. } => {
                Err(ChainError::DeployFailed(format!("halted: {reason:?}")))
            }
        }
    }

    /// Send a transaction calling `to` with `calldata`; state changes are committed.
    pub fn call(&mut self, to: [u8; 20], calldata: &[u8]) -> Result<CallOutcome> {
        let tx = self.tx(TxKind::Call(Address::from(to)), calldata.to_vec());
        let res = self
            .evm
            .transact_commit(tx)
            .map_err(|e| ChainError::Evm(format!("{e:?}")))?;
        Ok(outcome(res))
    }

    /// Execute a call transaction and discard its state changes (like `eth_call`, but gas includes the
    /// intrinsic cost, as a transaction would pay).
    pub fn call_static(&mut self, to: [u8; 20], calldata: &[u8]) -> Result<CallOutcome> {
        let tx = self.tx(TxKind::Call(Address::from(to)), calldata.to_vec());
        let res = self
            .evm
            .transact(tx)
            .map_err(|e| ChainError::Evm(format!("{e:?}")))?;
        Ok(outcome(res.result))
    }
}

fn outcome(res: ExecutionResult) -> CallOutcome {
    let gas_used = res.tx_gas_used();
    let logs = res
        .logs()
        .iter()
        .map(|l| EvmLog {
            address: l.address.into_array(),
            topics: l.data.topics().iter().map(|t| t.0).collect(),
            data: l.data.data.to_vec(),
        })
        .collect();
    let (status, output) = match res {
        ExecutionResult::Success { output, .. } => {
            (CallStatus::Success, output.into_data().to_vec())
        }
        ExecutionResult::Revert { output, .. } => (CallStatus::Revert, output.to_vec()),
        ExecutionResult::Halt { reason, .. } => {
            (CallStatus::Halt(format!("{reason:?}")), Vec::new())
        }
    };
    CallOutcome {
        status,
        gas_used,
        output,
        logs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deploys_and_calls_raw_bytecode() {
        let mut h = RevmHarness::new();
        // runtime: PUSH1 0x2a PUSH1 0 MSTORE PUSH1 0x20 PUSH1 0 RETURN  (returns 42)
        let runtime = [0x60, 0x2a, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3];
        // init: copy runtime (10 bytes at offset 12) to memory and return it
        let mut init = vec![
            0x60, 0x0a, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, 0x0a, 0x60, 0x00, 0xf3,
        ];
        init.extend_from_slice(&runtime);
        let d = h.deploy(&init, &[]).expect("deploy");
        let out = h.call(d.address, &[]).expect("call");
        assert!(out.is_success());
        assert_eq!(out.output.len(), 32);
        assert_eq!(out.output[31], 42);
        // 21,000 intrinsic (empty calldata) + 4 x PUSH1 (3) + MSTORE (3 + 3 memory expansion) + RETURN (0)
        assert_eq!(out.gas_used, 21_000 + 18);
        let st = h.call_static(d.address, &[]).expect("static");
        assert_eq!(st.output, out.output);
        // A revert is reported as such.
        let reverting = [0x60, 0x00, 0x60, 0x00, 0xfd]; // REVERT(0,0) as init code
        assert!(matches!(
            h.deploy(&reverting, &[]),
            Err(ChainError::DeployFailed(_))
        ));
    }
}

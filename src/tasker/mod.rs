//! The Tasker boundary, and nothing else: the narrow internal adapter contract
//! (`contract.rs`, documented in docs/TASKER_ADAPTER.md) and the HTTP client that
//! speaks it (`client.rs`). The gateway reaches Tasker only through these; the reference
//! Tasker that implements the contract lives apart, in `crate::reference_tasker`.

pub mod client;
pub mod contract;

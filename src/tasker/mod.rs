//! Tasker access. The gateway reaches Tasker only through the narrow internal adapter
//! contract (`contract.rs`, documented in docs/TASKER_ADAPTER.md); `client.rs` speaks it
//! over HTTP. `reference/` is a faithful Tasker implementing the contract, used for
//! local development and by the tests. `blocks.rs` renders and parses the structured
//! blocks agents keep in a card's description.

pub mod blocks;
pub mod client;
pub mod contract;
pub mod reference;

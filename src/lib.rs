//! NODE.DC Agent Gateway: AI coding agents work on Tasker cards through scoped,
//! rate-limited, audited, idempotent tools, without ever holding a Tasker credential.

pub mod actors;
pub mod app;
pub mod auth;
pub mod calls;
pub mod cli;
pub mod codex;
pub mod config;
pub mod console;
pub mod http;
pub mod mcp;
pub mod model;
pub mod reference_tasker;
pub mod service;
pub mod setup;
pub mod storage;
pub mod tasker;
pub mod tasker_check;
pub mod telemetry;
pub mod tools;

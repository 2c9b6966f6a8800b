//! The integration tests: one binary, one module per area. Tests that need the gateway
//! go through the one test app (`common::TestApp`) on a fresh database, on SQLite and
//! on PostgreSQL (`on_both_backends!`).

#[macro_use]
mod common;

mod blocks;
mod boundary;
mod cli;
mod compose;
mod console;
mod demo_setup;
mod docs;
mod entrypoint;
mod mcp;
mod mcp_clients;
mod mcp_stateless;
mod observability;
mod openapi;
mod owner_api;
mod reference_tasker;
mod reporting;
mod schemas;
mod storage;
mod tasker_check;
mod tasker_client;
mod token_auth;

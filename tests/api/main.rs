//! Black-box tests: every module talks to a real server spawned by `TestApp`.
#![allow(clippy::unwrap_used)]

mod helpers;

mod auth;
mod conventions;
mod ops;
mod users;

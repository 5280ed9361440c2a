//! Agora: a self-hostable backend for social apps.
//!
//! - `config`: settings from the environment.
//! - `app`: shared state, the router, serving with graceful shutdown.
//! - `error`: `ApiError`, the one error type, and the DRF-shaped bodies.
//! - `http`: extractors, pagination, OpenAPI document and docs pages.
//! - `db`: connection, migrations, entities.
//! - `auth`, `users`, `friends`, `notifications`: one folder per feature, each with its routes
//!   and store.
//! - `realtime`: the WebSocket gateway, hub, bus (in-process or Redis) and presence.
//! - `ops`: health and metrics.

pub mod app;
pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod friends;
pub mod http;
pub mod notifications;
pub mod ops;
pub mod realtime;
pub mod users;

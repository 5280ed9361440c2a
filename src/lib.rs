//! Agora: a self-hostable backend for social apps.
//!
//! Modules, each importing only those listed after it (no import circles):
//!
//! - `app`: the router with its middleware, the OpenAPI assembly, serving with graceful shutdown.
//! - `seed`: `agora seed`, a community of a real size written straight into the tables.
//! - `erasure`: a deleted account's data erased, the one use case that reaches into every feature.
//! - `export`: a user's data as a ZIP, built by a job (below `erasure`, which cancels exports).
//! - `moderation`: reports, staff's routes, suspensions and the audit log (above the features it acts on).
//! - `ws`: the `/ws/` gateway; client frames call the features' functions.
//! - `auth`, `chat`, `friends`, `groups`, `media`, `notifications`, `users`: one folder per feature
//!   (routes, feature functions, queries, types; groups build on chat's rooms); `ops`: health and
//!   metrics.
//! - `social`: friendships, blocks, pending requests and every visibility rule, once.
//! - `state`: `AppState` (typed fields made once at start: the user and room caches, one
//!   generic TTL + generation cache underneath; the chat writers' queues), and the one place a
//!   bearer token becomes a `CurrentUser`.
//! - `email`: mail rendered from `templates/email/`, queued as a job, delivered by `email::send`.
//! - `jobs`: the durable job queue in the database (retries, leases, one instance per job).
//! - `events`: the after-commit seam — typed domain events, subscribed to in `app`.
//! - `text`: what every feature reads in text the same way (`@mentions`).
//! - `storage`: media bytes on local disk or S3 (`MediaStore`), keys and bytes only.
//! - `realtime`: transport only — hub, bus (in-process or Redis), presence, event encoding.
//! - `security`: JWTs, password hashing, refresh-token records, the login limit.
//! - `http`: extractors (JSON bodies and DRF's forms), pagination, docs pages; no feature.
//! - `db`: connection, migrations, entities, shared query helpers.
//! - `config`, `error`, `secret`: settings from the environment; `ApiError` and the DRF-shaped
//!   bodies; `Secret`, a string that never shows in `Debug` output.

pub mod app;
pub mod auth;
pub mod chat;
pub mod config;
pub mod db;
pub mod email;
pub mod erasure;
pub mod error;
pub mod events;
pub mod export;
pub mod friends;
pub mod groups;
pub mod http;
pub mod jobs;
pub mod media;
pub mod moderation;
pub mod notifications;
pub mod ops;
pub mod posts;
pub mod push;
pub mod reactions;
pub mod realtime;
pub mod secret;
pub mod security;
pub mod seed;
pub mod social;
pub mod state;
pub mod storage;
pub mod text;
pub mod users;
pub mod ws;

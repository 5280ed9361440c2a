//! Black-box tests: every module talks to a real server spawned by `TestApp`.
#![allow(clippy::unwrap_used)]

mod helpers;
mod paths;
mod pushee;
mod smtp;

mod auth;
mod chat;
mod cli;
mod cluster;
mod comments;
mod conventions;
mod deletion;
mod email;
mod export;
mod friends;
mod groups;
mod hardening;
mod hostile;
mod media;
mod moderation;
mod notifications;
mod ops;
mod outage;
mod posts;
mod proxy;
mod push;
mod queries;
mod reactions;
mod reports;
mod users;
mod websocket;

//! The top floor: every feature's router with the middleware, the OpenAPI document assembled
//! from every feature's paths, and serving with graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::{Router, middleware};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::Layer;
use tower::ServiceExt;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::normalize_path::NormalizePathLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use utoipa::OpenApi;

use crate::http::ProxyConfig;
use crate::state::AppState;
use crate::{
    auth, chat, friends, groups, http, media, notifications, ops, posts, security, users, ws,
};

#[derive(OpenApi)]
#[openapi(paths(ops::health, ops::metrics, ws::gateway::upgrade))]
struct OpsDoc;

/// The whole OpenAPI document: every feature's paths merged into the base.
pub fn openapi() -> utoipa::openapi::OpenApi {
    http::docs::assemble([
        auth::ApiDoc::openapi(),
        auth::EmailApiDoc::openapi(),
        users::ApiDoc::openapi(),
        friends::ApiDoc::openapi(),
        notifications::ApiDoc::openapi(),
        chat::ApiDoc::openapi(),
        groups::ApiDoc::openapi(),
        media::ApiDoc::openapi(),
        posts::ApiDoc::openapi(),
        posts::reactions::ApiDoc::openapi(),
        crate::push::ApiDoc::openapi(),
        crate::export::ApiDoc::openapi(),
        crate::moderation::ApiDoc::openapi(),
        OpsDoc::openapi(),
    ])
}

/// Who hears of what every feature commits: the after-commit seam's subscribers, in order.
pub fn subscribers() -> Vec<crate::events::Subscriber<AppState>> {
    vec![
        Arc::new(|app, event| Box::pin(chat::on_event(app, event))),
        Arc::new(|app, event| Box::pin(crate::push::deliver::on_event(app, event))),
    ]
}

/// The application's state with its subscribers: what `agora serve` and the tests run.
pub async fn state(settings: crate::config::Settings) -> Result<AppState, crate::error::ApiError> {
    let (state, message_jobs) = AppState::build(settings, subscribers()).await?;
    chat::writer::start(&state, message_jobs);
    Ok(state)
}

mod jobs;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let cors = cors_layer(&state.settings.cors_origins);
    // Every route but the upload has a deadline for the whole request; the upload has one for
    // a pause in its body (`media::upload_router`).
    let timed = Router::new()
        .merge(auth::router())
        .merge(users::router())
        .merge(friends::router())
        .merge(notifications::router())
        .merge(chat::router())
        .merge(groups::router())
        .merge(media::router())
        .merge(posts::router())
        .merge(crate::push::router())
        .merge(crate::export::router())
        .merge(crate::moderation::router())
        .merge(ws::router())
        .merge(http::docs::router(openapi()))
        .route("/health", axum::routing::get(ops::health))
        .route("/metrics", axum::routing::get(ops::metrics))
        .fallback(http::not_found)
        .method_not_allowed_fallback(http::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.settings.request_timeout,
            http::request_timeout,
        ));
    Router::new()
        .merge(timed)
        .merge(media::upload_router(&state))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .layer(middleware::from_fn(http::refuse_nul_in_query))
        .layer(middleware::from_fn(ops::track))
        .layer(cors)
        .layer(middleware::from_fn_with_state(
            Arc::new(ProxyConfig::new(
                state.settings.trusted_proxies.clone(),
                state.settings.public_url.as_ref(),
            )),
            http::origin::resolve_origin,
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let id = req
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id, client = tracing::field::Empty)
            }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

fn cors_layer(origins: &[String]) -> CorsLayer {
    let base = CorsLayer::new()
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, REQUEST_ID])
        .max_age(Duration::from_secs(3600));
    if origins.iter().any(|o| o == "*") {
        base.allow_origin(Any)
    } else {
        let list: Vec<HeaderValue> = origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        base.allow_origin(AllowOrigin::list(list))
    }
}

/// Serves until `shutdown` resolves, then lets open requests finish.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Trailing-slash-insensitive routing: the slash is trimmed before the router sees the path.
    let app = NormalizePathLayer::trim_trailing_slash().layer(router(state.clone()));
    if let Err(e) = jobs::start(&state) {
        return Err(std::io::Error::other(e.to_string()));
    }
    state.spawn_background(background(state.clone()));
    state.spawn_background(ws::report_expired(state.clone()));

    // Our own accept loop rather than axum::serve, which cannot set a header read timeout: a
    // client that sends half a request head and stops would hold its connection forever.
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(state.settings.header_read_timeout);
    // Each connection task watches `closing` and, once it flips, finishes its request in
    // flight and closes; `connections` lets shutdown wait for them.
    let (closing, closing_rx) = tokio::sync::watch::channel(false);
    let connections = tokio_util::task::TaskTracker::new();
    let send_buffer = state.settings.socket_send_buffer;
    // At most `AGORA_MAX_CONNECTIONS` connections are served at once (as mini-redis caps its
    // own): past it the loop stops accepting and new ones wait in the kernel's backlog. A
    // connection gives its permit back when it ends, or when it becomes a WebSocket, which the
    // WebSocket caps count instead.
    let permits = Arc::new(tokio::sync::Semaphore::new(state.settings.max_connections));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small frames (events, acks) go out at once rather than waiting for Nagle.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        if let Some(size) = send_buffer
            && let Err(e) = socket2::SockRef::from(&tcp).set_send_buffer_size(size)
        {
            tracing::debug!(error = %e, "could not set SO_SNDBUF");
        }
        let service =
            app.clone()
                .map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    req.map(axum::body::Body::new)
                });
        let conn = http
            .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service))
            .with_upgrades();
        let mut closing = closing_rx.clone();
        connections.spawn(async move {
            let _permit = permit;
            let mut conn = std::pin::pin!(conn);
            loop {
                tokio::select! {
                    res = conn.as_mut() => {
                        if let Err(e) = res {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    changed = closing.changed() => {
                        conn.as_mut().graceful_shutdown();
                        if changed.is_err() {
                            // Nothing more to watch: let the connection finish.
                            let _ = conn.as_mut().await;
                            break;
                        }
                    }
                }
            }
        });
    }
    // Upgraded sockets are not HTTP requests: tell them to close too.
    state.begin_shutdown();
    closing.send_replace(true);
    connections.close();
    if tokio::time::timeout(state.settings.shutdown_timeout, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("shutdown deadline passed with HTTP requests still running");
    }
    if !state.wait_for_tasks().await {
        tracing::warn!("shutdown deadline passed with tasks still running");
    }
    Ok(())
}

/// Periodic housekeeping: metric upkeep, dropping expired refresh-token rows, deleting the
/// files of exports past their retention.
async fn background(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        ops::prometheus().run_upkeep();
        match security::sessions::purge_expired(&state.db).await {
            Ok(n) if n > 0 => tracing::debug!(purged = n, "expired refresh tokens removed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not purge expired refresh tokens"),
        }
        if let Err(e) = crate::users::suspension::lift_expired(&state).await {
            tracing::warn!(error = %e, "could not lift ended suspensions");
        }
        if let Err(e) = crate::export::expire(&state).await {
            tracing::warn!(error = %e, "could not expire old exports");
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

//! Operations endpoints: `/health/` and `/metrics`, and the request metrics middleware.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `error` when a part is down.
    pub status: &'static str,
    pub database: &'static str,
    pub broker: &'static str,
}

#[utoipa::path(get, path = "/health/", summary = "Health",
    description = "200 with database and broker ok, 503 naming the part that is down. Answered from probes made in the background (the database every second, Redis every quarter second), so it never waits on either.", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Health, description = "A part is down")))]
pub async fn health(State(app): State<AppState>) -> Response {
    // Both as last probed in the background: no round trip here.
    let database = if app.database_up.load(std::sync::atomic::Ordering::Acquire) {
        "ok"
    } else {
        "down"
    };
    let broker = if app.realtime.broker_healthy().await {
        "ok"
    } else {
        "down"
    };
    let healthy = database == "ok" && broker == "ok";
    let body = Health {
        status: if healthy { "ok" } else { "error" },
        database,
        broker,
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

#[utoipa::path(get, path = "/metrics", summary = "Metrics",
    description = "Prometheus text: request counts and latencies by route, sockets, refusals.", tag = "operations",
    responses((status = 200, content_type = "text/plain", description = "Prometheus text format")))]
pub async fn metrics() -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        prometheus().render(),
    )
}

/// The process-wide recorder; installed once even when several apps share a process (tests).
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
        }
        handle
    })
}

/// Counts requests and their latency by route template (never the raw path, which would
/// give every user id its own series).
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let start = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("agora_http_requests_total", &labels).increment(1);
    metrics::histogram!("agora_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    res
}

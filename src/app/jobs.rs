//! The job queue's handlers, one per kind, and the workers that run them on this instance.

use std::collections::HashMap;
use std::sync::Arc;

use crate::email::{self, Mail, send::Mailer};
use crate::error::ApiError;
use crate::jobs::{Handler, Job, JobError, Queue};
use crate::state::AppState;

fn payload<T: serde::de::DeserializeOwned>(job: &Job) -> Result<T, JobError> {
    serde_json::from_str(&job.payload).map_err(|e| JobError::Fail(format!("payload: {e}")))
}

/// Every kind of job and what runs it.
fn handlers(app: &AppState) -> Result<HashMap<&'static str, Handler<AppState>>, ApiError> {
    let mailer = Arc::new(Mailer::new(&app.settings.accounts).map_err(ApiError::Internal)?);
    let mut handlers: HashMap<&'static str, Handler<AppState>> = HashMap::new();
    handlers.insert(
        email::JOB,
        Arc::new(move |_app, job| {
            let mailer = mailer.clone();
            Box::pin(async move {
                let mail: Mail = payload(&job)?;
                mailer.send(job.id, &mail).await
            })
        }),
    );
    handlers.insert(
        crate::users::mail::REQUEST_JOB,
        Arc::new(|app, job| {
            Box::pin(async move {
                #[derive(serde::Deserialize)]
                struct Payload {
                    what: String,
                    email: String,
                    base: String,
                }
                let p: Payload = payload(&job)?;
                crate::users::mail::run_request(&app, &p.what, &p.email, &p.base)
                    .await
                    .map_err(|e| JobError::Retry(e.to_string()))
            })
        }),
    );
    handlers.insert(
        crate::users::accounts::DELETE_JOB,
        Arc::new(|app, job| {
            Box::pin(async move {
                #[derive(serde::Deserialize)]
                struct Payload {
                    user_id: i64,
                }
                let p: Payload = payload(&job)?;
                crate::erasure::run(&app, p.user_id)
                    .await
                    .map_err(|e| JobError::Retry(e.to_string()))
            })
        }),
    );
    let pusher = Arc::new(
        crate::push::send::Sender::new(&app.settings.push, &app.settings.accounts.email_from)
            .map_err(ApiError::Internal)?,
    );
    handlers.insert(
        crate::push::deliver::JOB,
        Arc::new(move |app, job| {
            let pusher = pusher.clone();
            Box::pin(async move { crate::push::deliver::run(&app, &pusher, &job).await })
        }),
    );
    handlers.insert(
        crate::export::JOB,
        Arc::new(|app, job| {
            Box::pin(async move {
                #[derive(serde::Deserialize)]
                struct Payload {
                    export_id: i64,
                }
                let p: Payload = payload(&job)?;
                crate::export::build::run(&app, &job, p.export_id).await
            })
        }),
    );
    Ok(handlers)
}

/// Starts this instance's workers (`AGORA_JOB_WORKERS`) as background tasks.
pub fn start(app: &AppState) -> Result<(), ApiError> {
    let jobs = app.settings.accounts.jobs;
    let queue = Queue::new(app.db.clone(), jobs, handlers(app)?, app.job_wake.clone());
    for i in 0..jobs.workers {
        app.spawn_background(
            queue
                .clone()
                .work(app.clone(), app.shutdown_signal(), i == 0),
        );
    }
    Ok(())
}

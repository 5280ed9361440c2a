//! The publisher: the one task that sends this instance's commands to Redis, publishes
//! batched into pipelines.

use std::sync::Arc;

use fred::prelude::*;
use tokio::sync::{mpsc, oneshot};

use super::{Command, FAN_OUT_THRESHOLD, PUBLISH_BATCH, RedisBackend};
use crate::realtime::event::Frame;

impl RedisBackend {
    /// Runs the queued commands in order. Publishes waiting together go out in one pipeline
    /// (one round trip for all of them), like the chat writers' group commit: a sender that
    /// waits for its publish (`publish_confirmed`) then waits for one round trip, not for
    /// every publish queued before it.
    pub(super) async fn run_commands(self: Arc<Self>, mut rx: mpsc::Receiver<Command>) {
        let mut batch = Vec::with_capacity(PUBLISH_BATCH);
        while rx.recv_many(&mut batch, PUBLISH_BATCH).await > 0 {
            let mut publishes = Vec::new();
            for cmd in batch.drain(..) {
                match cmd {
                    Command::Publish(ids, frame, done) => publishes.push((ids, frame, done)),
                    Command::Subscribe(id) => {
                        self.publish_all(std::mem::take(&mut publishes)).await;
                        if let Err(e) = self.subscriber.subscribe(self.channel(id)).await {
                            // Retried on the next reconnect, which re-subscribes every user here.
                            tracing::warn!(error = %e, user_id = id, "subscribe failed");
                        }
                    }
                    Command::Unsubscribe(id) => {
                        self.publish_all(std::mem::take(&mut publishes)).await;
                        // The user may have connected again since this was queued.
                        if !self.hub.is_connected(id)
                            && let Err(e) = self.subscriber.unsubscribe(self.channel(id)).await
                        {
                            tracing::warn!(error = %e, user_id = id, "unsubscribe failed");
                        }
                    }
                }
            }
            self.publish_all(publishes).await;
        }
    }

    /// Publishes each frame to its recipients, all in one pipeline; the waiters (`done`) are
    /// answered when it is over. An event for more than `FAN_OUT_THRESHOLD` users is one
    /// PUBLISH on the fan-out channel carrying its recipients.
    async fn publish_all(&self, publishes: Vec<(Vec<i64>, Frame, Option<oneshot::Sender<()>>)>) {
        if publishes.is_empty() {
            return;
        }
        // While Redis is away, remote delivery is lost rather than queued stale; its
        // recipients are told to resync when the link is back.
        if !self.link_up() {
            for (ids, ..) in &publishes {
                self.missed(ids);
            }
            return;
        }
        let pipeline = self.client.pipeline();
        for (ids, frame, _) in &publishes {
            let queued: Result<(), Error> = if ids.len() > FAN_OUT_THRESHOLD {
                let recipients: Vec<String> = ids.iter().map(i64::to_string).collect();
                let payload = format!(
                    "{}|{}|{}",
                    self.instance,
                    recipients.join(","),
                    frame.as_str()
                );
                pipeline.publish(self.fan_channel(), payload).await
            } else {
                let payload = format!("{}|{}", self.instance, frame.as_str());
                let mut queued = Ok(());
                for id in ids {
                    let one: Result<(), Error> =
                        pipeline.publish(self.channel(*id), payload.as_str()).await;
                    queued = queued.and(one);
                }
                queued
            };
            if let Err(e) = queued {
                tracing::warn!(error = %e, "could not queue a publish");
            }
        }
        let sent: Result<Vec<Value>, Error> = pipeline.all().await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "publishing to Redis failed");
            for (ids, ..) in &publishes {
                self.missed(ids);
            }
        }
    }
}

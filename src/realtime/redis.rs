//! The Redis backend of the bus and of presence, with `fred`.
//!
//! Bus: one channel per user, `{prefix}:user:{id}`. An instance subscribes to a user's channel
//! while it holds one of that user's connections. A publish is delivered to local connections
//! at once and pipelined to Redis in the background for the other instances; each payload is
//! tagged with the publishing instance so it is not delivered twice here. An event for more
//! than `FAN_OUT_THRESHOLD` users (a message to a big room) is instead one publish on
//! `{prefix}:fan-out`, carrying its recipients, which every instance hears and delivers to the
//! recipients connected to it: one round trip instead of one per member. When Redis is lost,
//! local delivery goes on, fred reconnects by itself and we re-subscribe every local user.
//!
//! Presence: a sorted set per user, `{prefix}:presence:{id}`, whose members are the instances
//! holding a connection of that user, scored by when that claim expires. Each instance renews
//! its claims every third of the TTL, so the users of an instance that dies are offline once
//! the TTL has passed. Transitions are read inside MULTI, so two instances connecting at once
//! cannot both (or neither) see the 0→1 change. An index, `{prefix}:presence:users`, scores
//! each online user by their latest claim; every instance sweeps it for users whose claims all
//! expired (their instance died) and the one whose ZREM wins reports them offline.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64};
use std::time::Duration;

use fred::clients::SubscriberClient;
use fred::prelude::*;
use fred::types::Builder;
use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use super::bus::Bus;
use super::event::Frame;
use super::hub::{Control, Hub};

/// The longest any Redis command may take (a request in the moment before the probe notices an
/// outage waits at most this).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);
/// How often the link to Redis is probed, and how long a probe may take before the link counts
/// as down: commands then fail at once instead of after `COMMAND_TIMEOUT`.
const PROBE_EVERY: Duration = Duration::from_millis(250);
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
const QUEUE: usize = 10_000;
/// Most publishes sent in one pipeline.
const PUBLISH_BATCH: usize = 256;

mod counters;
mod link;
mod presence;
mod publisher;
pub mod recovery;
/// Past this many recipients an event is one PUBLISH on the fan-out channel, which every
/// instance hears, instead of one PUBLISH per recipient's channel.
const FAN_OUT_THRESHOLD: usize = 16;
/// How long a broadcast waits for every instance to apply it.
const ACK_WAIT: Duration = Duration::from_secs(1);

enum Command {
    /// Recipients, the frame, and who waits for it to be on the bus.
    Publish(Vec<i64>, Frame, Option<oneshot::Sender<()>>),
    Subscribe(i64),
    Unsubscribe(i64),
}

pub struct RedisBackend {
    hub: Arc<Hub>,
    instance: String,
    prefix: String,
    client: Client,
    subscriber: SubscriberClient,
    queue: mpsc::Sender<Command>,
    presence_ttl: Duration,
    /// Users found offline by the sweeper: their instance died without saying so.
    expired: mpsc::Sender<i64>,
    /// This instance's broadcasts waiting for acknowledgements: how many instances have
    /// applied each (they answer on this instance's own ack channel).
    acks: std::sync::Mutex<HashMap<u64, tokio::sync::watch::Sender<i64>>>,
    /// Whether the last probe of the link answered (`watch_link`), and when one last did.
    up: AtomicBool,
    last_up_ms: AtomicI64,
    /// When the link was last seen up before its latest failure (0: none recently).
    gap_start_ms: AtomicI64,
    /// Recipients of events that did not reach the bus, told to `resync` once it is back.
    missed: std::sync::Mutex<recovery::Missed>,
}

impl RedisBackend {
    /// Connects both clients (failing if Redis does not answer now) and starts the background
    /// tasks: the publisher, the subscriber's reader, re-subscription and presence renewal.
    pub async fn connect(
        url: &str,
        prefix: &str,
        instance: String,
        hub: Arc<Hub>,
        presence_ttl: Duration,
        expired: mpsc::Sender<i64>,
        tasks: &super::Tasks,
    ) -> Result<Arc<Self>, String> {
        let config = Config::from_url(url).map_err(|e| format!("AGORA_REDIS_URL: {e}"))?;
        let mut builder = Builder::from_config(config);
        builder
            .with_performance_config(|p| {
                p.default_command_timeout = COMMAND_TIMEOUT;
                p.broadcast_channel_capacity = 4096;
            })
            .with_connection_config(|c| {
                c.connection_timeout = COMMAND_TIMEOUT;
                c.internal_command_timeout = COMMAND_TIMEOUT;
            })
            .set_policy(ReconnectPolicy::new_constant(0, 200));
        let client = builder.build().map_err(|e| e.to_string())?;
        let subscriber = builder
            .build_subscriber_client()
            .map_err(|e| e.to_string())?;
        client.init().await.map_err(|e| format!("Redis: {e}"))?;
        subscriber.init().await.map_err(|e| format!("Redis: {e}"))?;

        let (queue, rx) = mpsc::channel(QUEUE);
        let backend = Arc::new(Self {
            hub,
            instance,
            prefix: prefix.to_owned(),
            client,
            subscriber,
            queue,
            presence_ttl,
            expired,
            acks: std::sync::Mutex::default(),
            up: AtomicBool::new(true),
            last_up_ms: AtomicI64::new(chrono::Utc::now().timestamp_millis()),
            gap_start_ms: AtomicI64::new(0),
            missed: std::sync::Mutex::default(),
        });
        backend
            .subscriber
            .subscribe(backend.own_channels())
            .await
            .map_err(|e| format!("Redis: {e}"))?;
        let loops: [BoxFuture<'static, ()>; 6] = [
            Box::pin(backend.clone().watch_link()),
            Box::pin(backend.clone().run_commands(rx)),
            Box::pin(backend.clone().read_messages()),
            Box::pin(backend.clone().resubscribe_on_reconnect()),
            Box::pin(backend.clone().renew_presence()),
            Box::pin(backend.clone().sweep_dead_instances()),
        ];
        for task in loops {
            tasks.spawn(task);
        }
        // Last: close both connections once the others have stopped.
        let (client, subscriber, stopped) = (
            backend.client.clone(),
            backend.subscriber.clone(),
            tasks.stop.clone(),
        );
        tasks.tracker.spawn(async move {
            stopped.cancelled().await;
            for quit in [client.quit().await, subscriber.quit().await] {
                if let Err(e) = quit {
                    tracing::debug!(error = %e, "Redis connection closed uncleanly");
                }
            }
        });
        Ok(backend)
    }

    fn channel(&self, user_id: i64) -> String {
        format!("{}:user:{user_id}", self.prefix)
    }

    /// Every instance listens here for `Control` messages.
    fn control_channel(&self) -> String {
        format!("{}:control", self.prefix)
    }

    /// Events for many users at once (a chat room): every instance listens and delivers to
    /// the recipients it holds connections of.
    fn fan_channel(&self) -> String {
        format!("{}:fan-out", self.prefix)
    }

    /// Where the instances that applied a control message of `instance` acknowledge it.
    fn ack_channel(&self, instance: &str) -> String {
        format!("{}:control-ack:{instance}", self.prefix)
    }

    /// The channels every instance listens on besides its users': control messages, big
    /// fan-outs and the acknowledgements of its own control messages.
    fn own_channels(&self) -> Vec<String> {
        vec![
            self.control_channel(),
            self.fan_channel(),
            self.ack_channel(&self.instance),
        ]
    }

    fn presence_key(&self, user_id: i64) -> String {
        format!("{}:presence:{user_id}", self.prefix)
    }

    fn presence_index(&self) -> String {
        format!("{}:presence:users", self.prefix)
    }

    fn enqueue(&self, cmd: Command) {
        if let Err(e) = self.queue.try_send(cmd) {
            tracing::warn!("Redis command queue full; dropping a command");
            if let Command::Publish(ids, ..) = e.into_inner() {
                self.missed(&ids);
            }
        }
    }

    async fn read_messages(self: Arc<Self>) {
        let mut rx = self.subscriber.message_rx();
        let prefix = format!("{}:user:", self.prefix);
        let control = self.control_channel();
        let fan = self.fan_channel();
        let acks = self.ack_channel(&self.instance);
        loop {
            let msg = match rx.recv().await {
                Ok(m) => m,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "Redis messages arrived faster than delivered");
                    // Control messages may be among those lost, and events for anyone here.
                    self.hub.clear_caches();
                    let since = self.last_up();
                    self.hub
                        .deliver(&self.hub.users(), &recovery::resync_frame(since));
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            };
            if *msg.channel == *fan {
                let Some(payload) = msg.value.as_str() else {
                    continue;
                };
                let mut parts = payload.splitn(3, '|');
                let (Some(instance), Some(recipients), Some(json)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                if instance != self.instance {
                    let ids: Vec<i64> = recipients
                        .split(',')
                        .filter_map(|id| id.parse().ok())
                        .collect();
                    self.hub.deliver(&ids, &Frame::from(json.to_owned()));
                }
                continue;
            }
            if *msg.channel == *control {
                // Applied again when it is this instance's own: harmless, it is idempotent.
                let Some(text) = msg.value.as_str() else {
                    continue;
                };
                let mut parts = text.splitn(3, '|');
                let (Some(ack), Some(sender), Some(body)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                if let Some(c) = Control::decode(body) {
                    self.hub.apply(c);
                }
                // Tell the sender this instance has applied it (see `broadcast`).
                let answered: Result<i64, Error> =
                    self.client.publish(self.ack_channel(sender), ack).await;
                if let Err(e) = answered {
                    tracing::debug!(error = %e, "could not acknowledge a control message");
                }
                continue;
            }
            if *msg.channel == *acks {
                let ack = msg
                    .value
                    .as_str()
                    .and_then(|a| u64::from_str_radix(&a, 16).ok());
                let waiting = self.acks.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(counter) = ack.and_then(|a| waiting.get(&a)) {
                    counter.send_modify(|n| *n += 1);
                }
                continue;
            }
            let Some(user_id) = msg
                .channel
                .strip_prefix(prefix.as_str())
                .and_then(|id| id.parse::<i64>().ok())
            else {
                continue;
            };
            let Some(payload) = msg.value.as_str() else {
                continue;
            };
            let Some((instance, json)) = payload.split_once('|') else {
                continue;
            };
            if instance != self.instance {
                self.hub.deliver(&[user_id], &Frame::from(json.to_owned()));
            }
        }
    }
}

impl Bus for RedisBackend {
    fn publish(&self, recipients: &[i64], frame: Frame) {
        self.hub.deliver(recipients, &frame);
        self.enqueue(Command::Publish(recipients.to_vec(), frame, None));
    }

    fn publish_confirmed(&self, recipients: &[i64], frame: Frame) -> BoxFuture<'_, ()> {
        self.hub.deliver(recipients, &frame);
        if !self.link_up() {
            self.missed(recipients);
            return Box::pin(async {});
        }
        let (done, published) = oneshot::channel();
        self.enqueue(Command::Publish(recipients.to_vec(), frame, Some(done)));
        let recipients = recipients.to_vec();
        Box::pin(async move {
            // Answered when the publish is over (or the command was dropped). Past
            // `PROBE_TIMEOUT` the sender is answered anyway and the recipients are owed a
            // resync (sent once the link answers again): no request waits on a stalled broker.
            if tokio::time::timeout(PROBE_TIMEOUT, published)
                .await
                .is_err()
            {
                self.missed(&recipients);
            }
        })
    }

    fn subscribe(&self, user_id: i64) {
        self.enqueue(Command::Subscribe(user_id));
    }

    fn unsubscribe(&self, user_id: i64) {
        self.enqueue(Command::Unsubscribe(user_id));
    }

    fn healthy(&self) -> BoxFuture<'_, bool> {
        Box::pin(async move { self.link_up() && self.subscriber.is_connected() })
    }

    fn broadcast(&self, control: Control) -> BoxFuture<'_, ()> {
        self.hub.apply(control);
        Box::pin(async move {
            // Every instance that gets it (this one included) answers with this id on this
            // instance's ack channel once it has applied it; this returns when all of them have
            // (or after a second), so a token revoked here is refused by the other instances
            // from the moment the request that revoked it ends. No polling: the reader task
            // counts the answers as they come.
            if self.connected().is_err() {
                // Instances cut off with this one clear their caches when they reconnect; the
                // others' entries expire on their own.
                tracing::warn!(?control, "Redis is away; control message not broadcast");
                return;
            }
            let ack = rand::random::<u64>();
            // Registered before the publish: an acknowledgement may come back before it returns.
            let (counter, mut applied) = tokio::sync::watch::channel(0i64);
            self.acks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(ack, counter);
            let sent: Result<i64, Error> = self
                .client
                .publish(
                    self.control_channel(),
                    format!("{ack:016x}|{}|{}", self.instance, control.encode()),
                )
                .await;
            match sent {
                Ok(receivers) => {
                    let all = applied.wait_for(|n| *n >= receivers);
                    if tokio::time::timeout(ACK_WAIT, all).await.is_err() {
                        tracing::warn!(
                            ?control,
                            "not every instance acknowledged a control message"
                        );
                    }
                }
                Err(e) => {
                    // Instances that were cut off too clear their caches when they reconnect;
                    // entries also expire on their own.
                    tracing::warn!(error = %e, ?control, "could not broadcast a control message");
                }
            }
            self.acks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&ack);
        })
    }
}

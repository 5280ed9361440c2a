//! The `Bus`: `publish(recipients, frame)` reaches every connection of the recipients on every
//! instance. In-process, it is the hub itself; with Redis see `redis.rs`.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::event::Frame;
use super::hub::{Control, Hub};

pub trait Bus: Send + Sync {
    /// Never waits on the network: remote delivery, if any, happens in the background.
    fn publish(&self, recipients: &[i64], frame: Frame);
    /// As `publish`, but returns once the frame is on the bus (or known lost, its recipients
    /// then owed a `resync`): call before acknowledging what the frame announces, so that an
    /// instance dying after the acknowledgement cannot take the event with it. Never waits
    /// on a broker known to be away.
    fn publish_confirmed(&self, recipients: &[i64], frame: Frame) -> BoxFuture<'_, ()>;
    /// This instance now holds a connection of `user_id`.
    fn subscribe(&self, user_id: i64);
    /// This instance no longer holds a connection of `user_id`.
    fn unsubscribe(&self, user_id: i64);
    fn healthy(&self) -> BoxFuture<'_, bool>;
    /// Applies `control` here and, before it returns, hands it to every other instance.
    fn broadcast(&self, control: Control) -> BoxFuture<'_, ()>;
}

pub struct LocalBus {
    hub: Arc<Hub>,
}

impl LocalBus {
    pub fn new(hub: Arc<Hub>) -> Self {
        Self { hub }
    }
}

impl Bus for LocalBus {
    fn publish(&self, recipients: &[i64], frame: Frame) {
        self.hub.deliver(recipients, &frame);
    }

    fn publish_confirmed(&self, recipients: &[i64], frame: Frame) -> BoxFuture<'_, ()> {
        self.hub.deliver(recipients, &frame);
        Box::pin(async {})
    }

    fn subscribe(&self, _user_id: i64) {}

    fn unsubscribe(&self, _user_id: i64) {}

    fn healthy(&self) -> BoxFuture<'_, bool> {
        Box::pin(async { true })
    }

    fn broadcast(&self, control: Control) -> BoxFuture<'_, ()> {
        self.hub.apply(control);
        Box::pin(async {})
    }
}

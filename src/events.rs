//! The after-commit seam: a feature publishes a typed domain event once its transaction has
//! committed, and the features above it that care subscribe to it in `app.rs`. A lower feature
//! so lets a higher one react (media deleted, so chat updates its messages; a message sent, so
//! search indexes it and push wakes a phone) without importing it or being handed a hook.
//!
//! Subscribers run one after another, in the order `app.rs` lists them, before `publish`
//! returns, so what a request caused is done when it answers. A subscriber logs its own
//! failures: the commit it follows stands whatever happens after it.

use std::sync::Arc;

use futures_util::future::BoxFuture;

/// What happened, committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Media was deleted; `messages` are those it was attached to, which lost it.
    MediaDeleted { media_id: i64, messages: Vec<i64> },
    /// A chat message was stored (not a repeat of a `client_id`).
    MessageSent {
        room_id: i64,
        message_id: i64,
        sender_id: i64,
    },
    /// `blocker` blocked `blocked`: their friendship and pending requests are gone.
    UserBlocked { blocker: i64, blocked: i64 },
    /// Two users became friends.
    FriendshipMade { a: i64, b: i64 },
    /// Notifications were created (or an aggregated one first made) for recipients not in
    /// do-not-disturb.
    Notified { ids: Vec<i64>, recipients: Vec<i64> },
}

/// A subscriber: called with the application and each event, after its commit.
pub type Subscriber<S> = Arc<dyn Fn(S, Arc<Event>) -> BoxFuture<'static, ()> + Send + Sync>;

/// The subscribers of one application, fixed when it is built.
pub struct Events<S> {
    subscribers: Vec<Subscriber<S>>,
}

impl<S: Clone> Events<S> {
    pub fn new(subscribers: Vec<Subscriber<S>>) -> Self {
        Self { subscribers }
    }

    /// Runs every subscriber on `event`. Call after the commit the event announces.
    pub async fn publish(&self, state: &S, event: Event) {
        if self.subscribers.is_empty() {
            return;
        }
        let event = Arc::new(event);
        for subscriber in &self.subscribers {
            subscriber(state.clone(), event.clone()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn every_subscriber_sees_every_event_in_order() {
        type Log = Arc<Mutex<Vec<(u8, Event)>>>;
        let subscriber = |tag: u8| -> Subscriber<Log> {
            Arc::new(move |log: Log, event: Arc<Event>| {
                Box::pin(async move {
                    log.lock().expect("log").push((tag, (*event).clone()));
                })
            })
        };
        let events = Events::new(vec![subscriber(1), subscriber(2)]);
        let log: Log = Arc::default();
        let blocked = Event::UserBlocked {
            blocker: 1,
            blocked: 2,
        };
        let made = Event::FriendshipMade { a: 3, b: 4 };
        events.publish(&log, blocked.clone()).await;
        events.publish(&log, made.clone()).await;
        assert_eq!(
            *log.lock().expect("log"),
            vec![
                (1, blocked.clone()),
                (2, blocked),
                (1, made.clone()),
                (2, made)
            ]
        );
    }
}

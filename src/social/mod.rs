//! The social graph every feature asks: friendships, blocks and pending requests (`store`), and
//! every rule of who may see or message whom — profile visibility, presence, and
//! `allow_messages_from` — written once here. `Relations` loads a viewer's relations to a page
//! of users in a fixed number of queries, for batched `UserBrief`s.

pub mod briefs;
mod friends;
pub mod model;
pub mod posts;
pub mod store;

use std::collections::HashSet;

use crate::db::entities::user;
use crate::error::ApiError;
use crate::events::Event;
use crate::http::CurrentUser;
use crate::state::{AppState, IdList, MediaLinks};
use model::{FriendshipStatus, UserBrief, UserListItem};

pub use friends::*;

/// Who may see a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    Public,
    Friends,
    Private,
}

pub const VISIBILITIES: &[&str] = &["public", "friends", "private"];

impl Visibility {
    /// The stored value; anything unknown is read as the most private choice.
    pub fn of(stored: &str) -> Self {
        match stored {
            "public" => Self::Public,
            "friends" => Self::Friends,
            _ => Self::Private,
        }
    }
}

/// Who may start a direct conversation with a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessagePolicy {
    Everyone,
    Friends,
}

pub const MESSAGE_POLICIES: &[&str] = &["everyone", "friends"];

impl MessagePolicy {
    /// The stored value; anything unknown is read as the stricter choice.
    pub fn of(stored: &str) -> Self {
        match stored {
            "everyone" => Self::Everyone,
            _ => Self::Friends,
        }
    }
}

/// Who is looking: relations and visibility are computed for them.
#[derive(Clone, Copy, Debug)]
pub struct Viewer {
    pub id: i64,
    pub is_staff: bool,
}

impl Viewer {
    /// A user as the recipient of an event or notification about others.
    pub fn user(id: i64) -> Self {
        Self {
            id,
            is_staff: false,
        }
    }
}

/// Presence (`is_online`, `online_status`, `last_seen` events) is shown to the user, to
/// staff, and to friends unless the user hides it. The one place this rule is written.
pub fn sees_presence(viewer: Viewer, target: &user::Model, friends: bool) -> bool {
    viewer.id == target.id || viewer.is_staff || (target.show_online_status && friends)
}

impl From<&CurrentUser> for Viewer {
    fn from(me: &CurrentUser) -> Self {
        Self {
            id: me.id,
            is_staff: me.is_staff,
        }
    }
}

/// The viewer's relations to a set of users, loaded in a fixed number of queries however many
/// users a page holds: friendships, pending requests and presence.
pub struct Relations {
    viewer: Viewer,
    friends: HashSet<i64>,
    sent: HashSet<i64>,
    received: HashSet<i64>,
    /// Users blocked either way with the viewer (met in a room they still share).
    blocked: HashSet<i64>,
    online: HashSet<i64>,
    links: MediaLinks,
}

impl Relations {
    pub async fn load(
        app: &AppState,
        viewer: Viewer,
        targets: &[&user::Model],
    ) -> Result<Self, ApiError> {
        let ids: Vec<i64> = targets
            .iter()
            .map(|u| u.id)
            .filter(|id| *id != viewer.id)
            .collect();
        let friends = store::friends_among(&app.db, viewer.id, &ids).await?;
        let (sent, received) = store::pending_among(&app.db, viewer.id, &ids).await?;
        let mut rel = Self::with_presence(app, viewer, targets, friends, sent, received).await;
        if !viewer.is_staff && !ids.is_empty() {
            // From the cache: a page's briefs usually cost no query for it.
            let blocked = cached_ids(app, viewer.id, IdList::Blocked).await?;
            rel.blocked = ids
                .iter()
                .copied()
                .filter(|id| blocked.contains(id))
                .collect();
        }
        Ok(rel)
    }

    /// Relations to users already known to be the viewer's friends (the friends list): no
    /// query but presence.
    pub async fn of_friends(app: &AppState, viewer: Viewer, friends: &[&user::Model]) -> Self {
        let ids = friends.iter().map(|u| u.id).collect();
        Self::with_presence(app, viewer, friends, ids, HashSet::new(), HashSet::new()).await
    }

    async fn with_presence(
        app: &AppState,
        viewer: Viewer,
        targets: &[&user::Model],
        friends: HashSet<i64>,
        sent: HashSet<i64>,
        received: HashSet<i64>,
    ) -> Self {
        let mut rel = Self {
            viewer,
            friends,
            sent,
            received,
            blocked: HashSet::new(),
            online: HashSet::new(),
            links: app.media_links(),
        };
        let visible: Vec<i64> = targets
            .iter()
            .filter(|u| rel.presence_visible(u))
            .map(|u| u.id)
            .collect();
        rel.online = app.realtime.online(visible).await;
        rel
    }

    pub fn status(&self, target_id: i64) -> FriendshipStatus {
        if target_id == self.viewer.id {
            FriendshipStatus::Myself
        } else if self.friends.contains(&target_id) {
            FriendshipStatus::Friends
        } else if self.sent.contains(&target_id) {
            FriendshipStatus::RequestSent
        } else if self.received.contains(&target_id) {
            FriendshipStatus::RequestReceived
        } else {
            FriendshipStatus::None
        }
    }

    fn privileged(&self, target_id: i64) -> bool {
        target_id == self.viewer.id || self.viewer.is_staff
    }

    fn presence_visible(&self, target: &user::Model) -> bool {
        sees_presence(self.viewer, target, self.friends.contains(&target.id))
    }

    /// A profile is shown to the user and staff, to everyone when public, to friends when
    /// `friends`.
    pub fn profile_visible(&self, target: &user::Model) -> bool {
        self.privileged(target.id)
            || match Visibility::of(&target.visibility) {
                Visibility::Public => true,
                Visibility::Friends => self.friends.contains(&target.id),
                Visibility::Private => false,
            }
    }

    /// The email is shown to the user and staff only.
    pub fn email_visible(&self, target: &user::Model) -> bool {
        self.privileged(target.id)
    }

    pub fn is_online(&self, target: &user::Model) -> Option<bool> {
        self.presence_visible(target)
            .then(|| self.online.contains(&target.id))
    }

    /// A user blocked either way shows only their id and username (which the history they
    /// share already holds): no names, no avatar, no presence.
    pub fn brief(&self, target: &user::Model) -> UserBrief {
        if self.blocked.contains(&target.id) {
            return UserBrief {
                id: target.id,
                username: target.username.clone(),
                first_name: String::new(),
                last_name: String::new(),
                avatar: None,
                is_online: None,
            };
        }
        brief_of(target, self.is_online(target), &self.links)
    }

    /// Media links for the response these relations serve.
    pub fn links(&self) -> &MediaLinks {
        &self.links
    }

    pub fn list_item(&self, target: &user::Model) -> UserListItem {
        UserListItem {
            user: self.brief(target),
            friendship_status: self.status(target.id),
        }
    }
}

/// UserBriefs of `targets` as `viewer` sees them.
pub async fn briefs(
    app: &AppState,
    viewer: Viewer,
    targets: &[user::Model],
) -> Result<Vec<UserBrief>, ApiError> {
    let refs: Vec<&user::Model> = targets.iter().collect();
    let rel = Relations::load(app, viewer, &refs).await?;
    Ok(targets.iter().map(|t| rel.brief(t)).collect())
}

/// How `target` looks to each of `viewers` (the sender of a notification to many, say): two
/// queries whatever the number of viewers. Viewers are ordinary users here, not staff.
pub async fn brief_for_each(
    app: &AppState,
    target: &user::Model,
    viewers: &[i64],
) -> Result<std::collections::HashMap<i64, UserBrief>, ApiError> {
    // Friendship is symmetric: the viewers who are the target's friends.
    let friends = store::friends_among(&app.db, target.id, viewers).await?;
    let sees = |v: i64| sees_presence(Viewer::user(v), target, friends.contains(&v));
    let online = if viewers.iter().any(|v| sees(*v)) {
        app.realtime
            .online(vec![target.id])
            .await
            .contains(&target.id)
    } else {
        false
    };
    // Built for others than the caller: links never from the caller's request.
    let links = app.event_links();
    Ok(viewers
        .iter()
        .map(|v| (*v, brief_of(target, sees(*v).then_some(online), &links)))
        .collect())
}

pub fn brief_of(target: &user::Model, is_online: Option<bool>, links: &MediaLinks) -> UserBrief {
    UserBrief {
        id: target.id,
        username: target.username.clone(),
        first_name: target.first_name.clone(),
        last_name: target.last_name.clone(),
        avatar: target.avatar_id.map(|id| links.url(id, "content")),
        is_online,
    }
}

/// Whether `sender` may message `recipient` in a direct room: neither has blocked the other,
/// and the recipient's `allow_messages_from` admits the sender. The one rule, asked when a
/// direct room is opened and at every use of it (a send, an edit, a typing frame), from the
/// caches, so the hot path of a send costs no query: the recipient's row, the sender's blocks
/// and friends. A recipient who is gone or inactive cannot be messaged.
pub async fn may_message(app: &AppState, sender: i64, recipient: i64) -> Result<bool, ApiError> {
    let Some(other) = app.users_by_id(&[recipient]).await?.pop() else {
        return Ok(false);
    };
    if !other.is_active
        || cached_ids(app, sender, IdList::Blocked)
            .await?
            .contains(&recipient)
    {
        return Ok(false);
    }
    Ok(match MessagePolicy::of(&other.allow_messages_from) {
        MessagePolicy::Everyone => true,
        MessagePolicy::Friends => cached_ids(app, sender, IdList::Friends)
            .await?
            .contains(&recipient),
    })
}

/// Whether `a` and `b` blocked one another, either way, from the cache.
pub async fn blocked_now(app: &AppState, a: i64, b: i64) -> Result<bool, ApiError> {
    Ok(cached_ids(app, a, IdList::Blocked).await?.contains(&b))
}

/// `blocker` blocks `blocked`, which ends their friendship and every pending request between
/// them, both ways, in one transaction. No event is sent: the blocked user is not told.
pub async fn block(app: &AppState, blocker: i64, blocked: i64) -> Result<(), ApiError> {
    let txn = crate::db::begin_write(&app.db).await?;
    store::lock_pair(&txn, blocker, blocked).await?;
    store::block(&txn, blocker, blocked).await?;
    // Pending requests first: closing one waits for an accept of it that is committing, so
    // the friendship that accept makes is there to be ended next (the other way round, an
    // accept racing the block left the two friends on PostgreSQL).
    store::cancel_pending_between(&txn, blocker, blocked).await?;
    store::unfriend(&txn, blocker, blocked).await?;
    txn.commit().await?;
    // Both users' blocks (and maybe friend counts) changed: every instance drops its copies
    // before this returns, so the next send in a direct room of theirs is refused everywhere.
    app.user_changed(blocker).await;
    app.user_changed(blocked).await;
    app.events
        .publish(app, Event::UserBlocked { blocker, blocked })
        .await;
    Ok(())
}

/// `blocker` lifts their block of `blocked`; false when there was none.
pub async fn unblock(app: &AppState, blocker: i64, blocked: i64) -> Result<bool, ApiError> {
    let lifted = store::unblock(&app.db, blocker, blocked).await?;
    if lifted {
        app.user_changed(blocker).await;
        app.user_changed(blocked).await;
    }
    Ok(lifted)
}

/// Whether `viewer` may see group `g`: a public group, or one they belong to or are invited
/// to (staff are the caller's concern).
pub async fn group_visible(
    db: &impl sea_orm::ConnectionTrait,
    g: &crate::db::entities::group::Model,
    viewer: i64,
) -> Result<bool, ApiError> {
    use crate::db::entities::{chat_member, group_invite};
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    if g.visibility != "private" {
        return Ok(true);
    }
    if chat_member::Entity::find_by_id((g.room_id, viewer))
        .one(db)
        .await?
        .is_some()
    {
        return Ok(true);
    }
    let invited = group_invite::Entity::find()
        .filter(group_invite::Column::GroupId.eq(g.id))
        .filter(group_invite::Column::UserId.eq(viewer))
        .filter(group_invite::Column::Status.eq("pending"))
        .count(db)
        .await?;
    Ok(invited > 0)
}

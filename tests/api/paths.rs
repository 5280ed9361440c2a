//! One function per endpoint path that holds an id, so a test names the endpoint instead of
//! spelling its URL (ids may be numbers or the JSON values a response held).

use std::fmt::Display;

pub fn user(id: impl Display) -> String {
    format!("/api/users/{id}/")
}

pub fn block(user: impl Display) -> String {
    format!("/api/users/{user}/block/")
}

pub fn friend(user: impl Display) -> String {
    format!("/api/friends/{user}/")
}

pub fn friend_request(id: impl Display) -> String {
    format!("/api/friends/request/{id}/")
}

pub fn notification(id: impl Display) -> String {
    format!("/api/notifications/{id}/")
}

pub fn notification_read(id: impl Display) -> String {
    format!("/api/notifications/{id}/read/")
}

pub fn room(id: impl Display) -> String {
    format!("/api/chat/rooms/{id}/")
}

pub fn room_messages(room: impl Display) -> String {
    format!("/api/chat/rooms/{room}/messages/")
}

pub fn room_members(room: impl Display) -> String {
    format!("/api/chat/rooms/{room}/members/")
}

pub fn room_member(room: impl Display, user: impl Display) -> String {
    format!("/api/chat/rooms/{room}/members/{user}/")
}

pub fn room_read(room: impl Display) -> String {
    format!("/api/chat/rooms/{room}/read/")
}

pub fn room_mute(room: impl Display) -> String {
    format!("/api/chat/rooms/{room}/mute/")
}

pub fn message(id: impl Display) -> String {
    format!("/api/chat/messages/{id}/")
}

pub fn group(id: impl Display) -> String {
    format!("/api/groups/{id}/")
}

pub fn group_join(group: impl Display) -> String {
    format!("/api/groups/{group}/join/")
}

pub fn group_members(group: impl Display) -> String {
    format!("/api/groups/{group}/members/")
}

pub fn group_member(group: impl Display, user: impl Display) -> String {
    format!("/api/groups/{group}/members/{user}/")
}

pub fn group_invites(group: impl Display) -> String {
    format!("/api/groups/{group}/invites/")
}

pub fn invite(id: impl Display) -> String {
    format!("/api/groups/invites/{id}/")
}

pub fn media(id: impl Display) -> String {
    format!("/api/media/{id}/")
}

pub fn media_content(id: impl Display) -> String {
    format!("/api/media/{id}/content/")
}

pub fn media_thumbnail(id: impl Display) -> String {
    format!("/api/media/{id}/thumbnail/")
}

pub fn post(id: impl Display) -> String {
    format!("/api/posts/{id}/")
}

pub fn user_posts(user: impl Display) -> String {
    format!("/api/users/{user}/posts/")
}

pub fn post_comments(post: impl Display) -> String {
    format!("/api/posts/{post}/comments/")
}

pub fn comment(id: impl Display) -> String {
    format!("/api/comments/{id}/")
}

pub fn replies(comment: impl Display) -> String {
    format!("/api/comments/{comment}/replies/")
}

pub fn push_subscription(id: impl Display) -> String {
    format!("/api/push/subscriptions/{id}/")
}

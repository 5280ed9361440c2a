//! Media queries: rows, usage, attachments, and the uses that decide who may see a file.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QuerySelect,
};

use crate::db::entities::{chat_attachment, chat_member, chat_message, group, media, user};

pub struct NewMedia {
    pub owner_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub storage_key: String,
    pub thumbnail_key: Option<String>,
}

pub async fn insert(
    db: &impl ConnectionTrait,
    new: NewMedia,
    now: DateTime<Utc>,
) -> Result<media::Model, DbErr> {
    media::ActiveModel {
        owner_id: Set(new.owner_id),
        filename: Set(new.filename),
        content_type: Set(new.content_type),
        size: Set(i64::try_from(new.size).unwrap_or(i64::MAX)),
        width: Set(new.width.and_then(|w| i32::try_from(w).ok())),
        height: Set(new.height.and_then(|h| i32::try_from(h).ok())),
        storage_key: Set(new.storage_key),
        thumbnail_key: Set(new.thumbnail_key),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<media::Model>, DbErr> {
    media::Entity::find_by_id(id).one(db).await
}

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<media::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    media::Entity::find()
        .filter(media::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await
}

/// Bytes `owner_id` keeps stored.
pub async fn bytes_used(db: &impl ConnectionTrait, owner_id: i64) -> Result<u64, DbErr> {
    let total: Option<Option<i64>> = media::Entity::find()
        .select_only()
        // SUM of a bigint is NUMERIC on PostgreSQL: back to a bigint on both databases.
        .column_as(
            Expr::expr(Func::cast_as(
                Func::sum(Expr::col(media::Column::Size)),
                Alias::new("BIGINT"),
            )),
            "total",
        )
        .filter(media::Column::OwnerId.eq(owner_id))
        .into_tuple()
        .one(db)
        .await?;
    Ok(total.flatten().map_or(0, |t| u64::try_from(t).unwrap_or(0)))
}

/// What deleting a media row changed besides the row.
pub struct Deleted {
    /// Users whose avatar or cover it was.
    pub users: Vec<i64>,
    /// Chat messages it was attached to.
    pub messages: Vec<i64>,
}

/// Deletes the row; the attachments that used it go with it, and the avatars and covers that
/// used it are cleared.
pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<Deleted, DbErr> {
    let users: Vec<i64> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(
            sea_orm::Condition::any()
                .add(user::Column::AvatarId.eq(id))
                .add(user::Column::CoverId.eq(id)),
        )
        .into_tuple()
        .all(db)
        .await?;
    for col in [user::Column::AvatarId, user::Column::CoverId] {
        user::Entity::update_many()
            .col_expr(col, Expr::value(Option::<i64>::None))
            .filter(col.eq(id))
            .exec(db)
            .await?;
    }
    group::Entity::update_many()
        .col_expr(group::Column::AvatarId, Expr::value(Option::<i64>::None))
        .filter(group::Column::AvatarId.eq(id))
        .exec(db)
        .await?;
    let messages: Vec<i64> = chat_attachment::Entity::find()
        .select_only()
        .column(chat_attachment::Column::MessageId)
        .filter(chat_attachment::Column::MediaId.eq(id))
        .into_tuple()
        .all(db)
        .await?;
    chat_attachment::Entity::delete_many()
        .filter(chat_attachment::Column::MediaId.eq(id))
        .exec(db)
        .await?;
    media::Entity::delete_by_id(id).exec(db).await?;
    Ok(Deleted { users, messages })
}

/// The users whose avatar (`cover` false) or cover is this media.
pub async fn users_showing(
    db: &impl ConnectionTrait,
    id: i64,
    cover: bool,
) -> Result<Vec<user::Model>, DbErr> {
    let col = if cover {
        user::Column::CoverId
    } else {
        user::Column::AvatarId
    };
    user::Entity::find().filter(col.eq(id)).all(db).await
}

/// The groups whose avatar this media is.
pub async fn groups_showing(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Vec<group::Model>, DbErr> {
    group::Entity::find()
        .filter(group::Column::AvatarId.eq(id))
        .all(db)
        .await
}

/// Whether the media is attached to a message in a room `viewer` belongs to.
pub async fn attached_where_member(
    db: &impl ConnectionTrait,
    id: i64,
    viewer: i64,
) -> Result<bool, DbErr> {
    let my_rooms = Query::select()
        .column(chat_member::Column::RoomId)
        .from(chat_member::Entity)
        .and_where(chat_member::Column::UserId.eq(viewer))
        .to_owned();
    let messages = Query::select()
        .column(chat_message::Column::Id)
        .from(chat_message::Entity)
        .and_where(chat_message::Column::RoomId.in_subquery(my_rooms))
        .to_owned();
    let n = chat_attachment::Entity::find()
        .filter(chat_attachment::Column::MediaId.eq(id))
        .filter(chat_attachment::Column::MessageId.in_subquery(messages))
        .count(db)
        .await?;
    Ok(n > 0)
}

/// What holds media in order: a chat message, a post or a comment, each in its own link
/// table of `(holder, media_id, position)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder {
    Message,
    Post,
    Comment,
}

impl Holder {
    fn table(self) -> Alias {
        Alias::new(match self {
            Self::Message => "chat_attachments",
            Self::Post => "post_media",
            Self::Comment => "comment_media",
        })
    }

    fn column(self) -> Alias {
        Alias::new(match self {
            Self::Message => "message_id",
            Self::Post => "post_id",
            Self::Comment => "comment_id",
        })
    }
}

/// Links `media_ids` to the holder, in their order.
pub async fn attach(
    db: &impl ConnectionTrait,
    holder: Holder,
    id: i64,
    media_ids: &[i64],
) -> Result<(), DbErr> {
    if media_ids.is_empty() {
        return Ok(());
    }
    let mut insert = Query::insert();
    insert.into_table(holder.table()).columns([
        holder.column(),
        Alias::new("media_id"),
        Alias::new("position"),
    ]);
    for (i, media_id) in media_ids.iter().enumerate() {
        insert.values_panic([
            id.into(),
            (*media_id).into(),
            i32::try_from(i).unwrap_or(i32::MAX).into(),
        ]);
    }
    db.execute(&insert).await?;
    Ok(())
}

/// Unlinks every media of the holders `ids`.
pub async fn detach_all(
    db: &impl ConnectionTrait,
    holder: Holder,
    ids: &[i64],
) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    let delete = Query::delete()
        .from_table(holder.table())
        .and_where(Expr::col(holder.column()).is_in(ids.iter().copied()))
        .to_owned();
    db.execute(&delete).await?;
    Ok(())
}

/// The media of each of the holders `ids`, in their order: two queries for any page.
pub async fn attachments_of(
    db: &impl ConnectionTrait,
    holder: Holder,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<media::Model>>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let select = Query::select()
        .columns([holder.column(), Alias::new("media_id")])
        .from(holder.table())
        .and_where(Expr::col(holder.column()).is_in(ids.iter().copied()))
        .order_by(holder.column(), sea_orm::Order::Asc)
        .order_by(Alias::new("position"), sea_orm::Order::Asc)
        .to_owned();
    let links: Vec<(i64, i64)> = db
        .query_all(&select)
        .await?
        .iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
        .collect::<Result<_, DbErr>>()?;
    let media_ids: Vec<i64> = links.iter().map(|l| l.1).collect();
    let rows: HashMap<i64, media::Model> = by_ids(db, &media_ids)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let mut out: HashMap<i64, Vec<media::Model>> = HashMap::new();
    for (holder_id, media_id) in links {
        if let Some(m) = rows.get(&media_id) {
            out.entry(holder_id).or_default().push(m.clone());
        }
    }
    Ok(out)
}

/// The posts that show this media: in their own media or in a comment's.
pub async fn posts_showing(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Vec<crate::db::entities::post::Model>, DbErr> {
    use crate::db::entities::{comment, post};
    let direct = Query::select()
        .column(Alias::new("post_id"))
        .from(Holder::Post.table())
        .and_where(Expr::col(Alias::new("media_id")).eq(id))
        .to_owned();
    let held = Query::select()
        .column(Alias::new("comment_id"))
        .from(Holder::Comment.table())
        .and_where(Expr::col(Alias::new("media_id")).eq(id))
        .to_owned();
    let via_comments = Query::select()
        .column(comment::Column::PostId)
        .from(comment::Entity)
        .and_where(comment::Column::Id.in_subquery(held))
        .and_where(comment::Column::Deleted.eq(false))
        .to_owned();
    post::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(post::Column::Id.in_subquery(direct))
                .add(post::Column::Id.in_subquery(via_comments)),
        )
        .limit(20)
        .all(db)
        .await
}

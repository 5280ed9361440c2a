//! Comment queries. Every write runs in a transaction that holds the post's row lock, so a
//! post's `comment_count` and a comment's `reply_count` stay true under concurrent writers.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter,
};

use crate::db::Keyset;
use crate::db::entities::comment;

pub struct NewComment {
    pub post_id: i64,
    pub author_id: i64,
    pub body: String,
    pub reply_to: Option<i64>,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewComment) -> Result<comment::Model, DbErr> {
    comment::ActiveModel {
        post_id: Set(new.post_id),
        author_id: Set(new.author_id),
        body: Set(new.body),
        reply_to: Set(new.reply_to),
        reply_count: Set(0),
        created_at: Set(crate::db::now()),
        edited_at: Set(None),
        deleted: Set(false),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<comment::Model>, DbErr> {
    comment::Entity::find_by_id(id).one(db).await
}

pub async fn set_body(db: &impl ConnectionTrait, id: i64, body: &str) -> Result<(), DbErr> {
    comment::Entity::update_many()
        .col_expr(comment::Column::Body, Expr::value(body))
        .col_expr(comment::Column::EditedAt, Expr::value(crate::db::now()))
        .filter(comment::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Adds `delta` to a comment's reply count.
pub async fn add_replies(db: &impl ConnectionTrait, id: i64, delta: i64) -> Result<(), DbErr> {
    comment::Entity::update_many()
        .col_expr(
            comment::Column::ReplyCount,
            Expr::col(comment::Column::ReplyCount).add(delta),
        )
        .filter(comment::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Makes a top-level comment with replies a tombstone.
pub async fn tombstone(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    comment::Entity::update_many()
        .col_expr(comment::Column::Body, Expr::value(""))
        .col_expr(comment::Column::Deleted, Expr::value(true))
        .filter(comment::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    comment::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// A post's top-level comments (`parent` None) or a comment's replies, oldest first as the
/// caller pages them, without those by `hidden` users.
pub async fn page(
    db: &impl ConnectionTrait,
    post_id: i64,
    parent: Option<i64>,
    hidden: &[i64],
    page: Keyset,
) -> Result<Vec<comment::Model>, DbErr> {
    let backend = db.get_database_backend();
    let mut select = comment::Entity::find();
    select = match parent {
        None => select
            .filter(crate::db::only(backend, comment::Column::PostId, post_id))
            .filter(comment::Column::ReplyTo.is_null()),
        Some(p) => select.filter(crate::db::only(backend, comment::Column::ReplyTo, p)),
    };
    if !hidden.is_empty() {
        select = select.filter(comment::Column::AuthorId.is_not_in(hidden.to_vec()));
    }
    page.apply(select, comment::Column::Id).all(db).await
}

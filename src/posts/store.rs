//! Post queries: the rows, and the three feeds as keyset pages; `comments` those of comments.

pub mod comments;

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr,
    EntityTrait, QueryFilter,
};

use crate::db::Keyset;
use crate::db::entities::{chat_member, friendship, group, post};

pub struct NewPost {
    pub author_id: i64,
    pub body: String,
    pub visibility: String,
    pub group_id: Option<i64>,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewPost) -> Result<post::Model, DbErr> {
    post::ActiveModel {
        author_id: Set(new.author_id),
        body: Set(new.body),
        visibility: Set(new.visibility),
        group_id: Set(new.group_id),
        created_at: Set(crate::db::now()),
        edited_at: Set(None),
        comment_count: Set(0),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<post::Model>, DbErr> {
    post::Entity::find_by_id(id).one(db).await
}

pub async fn find_many(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<post::Model>, DbErr> {
    post::Entity::find()
        .filter(post::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await
}

/// Writes an edit: the body (with `edited_at`) when given, the visibility when given.
pub async fn update(
    db: &impl ConnectionTrait,
    id: i64,
    body: Option<String>,
    edited: bool,
    visibility: Option<String>,
) -> Result<(), DbErr> {
    let mut row = post::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(id),
        ..Default::default()
    };
    if let Some(b) = body {
        row.body = Set(b);
    }
    if edited {
        row.edited_at = Set(Some(crate::db::now()));
    }
    if let Some(v) = visibility {
        row.visibility = Set(v);
    }
    if row.is_changed() {
        row.update(db).await?;
    }
    Ok(())
}

pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    post::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// How the home feed is read (see the README's feed design).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedPlan {
    /// Through each author's and group's index, then sorted: cost grows with what the
    /// viewer's friends ever posted, right for a viewer with few friends.
    ByAuthor,
    /// Down the primary key, newest first, keeping what the viewer may see until the page is
    /// full: cost grows with the page over the share of posts the viewer sees, right for a
    /// viewer with many friends.
    Walk,
}

/// The home feed of `viewer`: their own posts, their active friends' non-group posts of
/// `public` or `friends`, and the posts of their groups, not by `hidden` users (blocked
/// either way). One statement, read by `plan`.
pub async fn home(
    db: &impl ConnectionTrait,
    viewer: i64,
    hidden: &[i64],
    page: Keyset,
    plan: FeedPlan,
) -> Result<Vec<post::Model>, DbErr> {
    if plan == FeedPlan::Walk {
        // The same rule with its columns behind a unary `+`, which keeps both databases off
        // the author and group indexes: only the primary key is left to walk. The friends
        // come from the primary key's index alone (asking `friend_active` too read 5,000
        // rows, 5 ms a page); the page drops posts of closed accounts.
        let rule = format!(
            "(+posts.author_id = {viewer} \
             OR (+posts.author_id IN (SELECT friend_id FROM friendships \
                 WHERE user_id = {viewer}) \
                 AND posts.visibility IN ('public', 'friends')) \
             OR +posts.group_id IN (SELECT id FROM groups WHERE room_id IN \
                 (SELECT room_id FROM chat_members WHERE user_id = {viewer})))"
        );
        let mut select = post::Entity::find().filter(Expr::cust(rule));
        if !hidden.is_empty() {
            select = select.filter(post::Column::AuthorId.is_not_in(hidden.to_vec()));
        }
        return page.apply(select, post::Column::Id).all(db).await;
    }
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        return home_by_author_pg(db, viewer, hidden, page).await;
    }
    let friends = Query::select()
        .column(friendship::Column::FriendId)
        .from(friendship::Entity)
        .and_where(friendship::Column::UserId.eq(viewer))
        .and_where(friendship::Column::FriendActive.eq(true))
        .to_owned();
    let my_rooms = Query::select()
        .column(chat_member::Column::RoomId)
        .from(chat_member::Entity)
        .and_where(chat_member::Column::UserId.eq(viewer))
        .to_owned();
    let my_groups = Query::select()
        .column(group::Column::Id)
        .from(group::Entity)
        .and_where(group::Column::RoomId.in_subquery(my_rooms))
        .to_owned();
    let mut select = post::Entity::find().filter(
        Condition::any()
            .add(post::Column::AuthorId.eq(viewer))
            // `public` and `friends` exclude group posts (`group`): no `group_id IS NULL`,
            // which SQLite would answer from the group index, reading every non-group post.
            .add(
                Condition::all()
                    .add(post::Column::AuthorId.in_subquery(friends))
                    .add(post::Column::Visibility.is_in(["public", "friends"])),
            )
            .add(post::Column::GroupId.in_subquery(my_groups)),
    );
    if !hidden.is_empty() {
        select = select.filter(post::Column::AuthorId.is_not_in(hidden.to_vec()));
    }
    page.apply(select, post::Column::Id).all(db).await
}

/// `author`'s non-group posts of the given visibilities.
pub async fn by_author(
    db: &impl ConnectionTrait,
    author: i64,
    visibilities: &[&str],
    page: Keyset,
) -> Result<Vec<post::Model>, DbErr> {
    if visibilities.is_empty() {
        return Ok(Vec::new());
    }
    let select = post::Entity::find()
        .filter(crate::db::only(
            db.get_database_backend(),
            post::Column::AuthorId,
            author,
        ))
        .filter(post::Column::GroupId.is_null())
        .filter(post::Column::Visibility.is_in(visibilities.iter().copied()));
    page.apply(select, post::Column::Id).all(db).await
}

/// A group's posts, not by `hidden` users.
pub async fn in_group(
    db: &impl ConnectionTrait,
    group_id: i64,
    hidden: &[i64],
    page: Keyset,
) -> Result<Vec<post::Model>, DbErr> {
    let mut select = post::Entity::find().filter(crate::db::only(
        db.get_database_backend(),
        post::Column::GroupId,
        group_id,
    ));
    if !hidden.is_empty() {
        select = select.filter(post::Column::AuthorId.is_not_in(hidden.to_vec()));
    }
    page.apply(select, post::Column::Id).all(db).await
}

/// Adds `delta` to a post's comment count.
pub async fn add_comments(db: &impl ConnectionTrait, id: i64, delta: i64) -> Result<(), DbErr> {
    use sea_orm::sea_query::ExprTrait;
    post::Entity::update_many()
        .col_expr(
            post::Column::CommentCount,
            Expr::col(post::Column::CommentCount).add(delta),
        )
        .filter(post::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The ids of a post's comments and replies.
pub async fn comment_ids(db: &impl ConnectionTrait, post_id: i64) -> Result<Vec<i64>, DbErr> {
    use crate::db::entities::comment;
    use sea_orm::QuerySelect;
    comment::Entity::find()
        .select_only()
        .column(comment::Column::Id)
        .filter(comment::Column::PostId.eq(post_id))
        .into_tuple()
        .all(db)
        .await
}

/// `home` by author on PostgreSQL, which cannot walk several index ranges in order under one
/// `OR` (it walked the primary key instead, 200,000 rows for a reader with ten friends): each
/// author's and group's newest rows through `LATERAL`, at most a page from each, merged.
async fn home_by_author_pg(
    db: &impl ConnectionTrait,
    viewer: i64,
    hidden: &[i64],
    page: Keyset,
) -> Result<Vec<post::Model>, DbErr> {
    let (op, order) = if page.descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    let mut keep = match page.from {
        Some(from) => format!("q.id {op} {from}"),
        None => "TRUE".to_owned(),
    };
    if !hidden.is_empty() {
        let ids: Vec<String> = hidden.iter().map(i64::to_string).collect();
        keep.push_str(&format!(" AND q.author_id NOT IN ({})", ids.join(", ")));
    }
    let n = page.limit;
    let newest = |source: &str, rule: &str| {
        format!(
            "SELECT p.* FROM {source} CROSS JOIN LATERAL (SELECT q.* FROM posts q \
             WHERE {rule} AND {keep} ORDER BY q.id {order} LIMIT {n}) p"
        )
    };
    let sql = format!(
        // UNION: the viewer's own post in one of their groups comes from two parts.
        "SELECT * FROM ({own} UNION {friends} UNION {groups}) AS feed \
         ORDER BY id {order} LIMIT {n}",
        own = newest("(SELECT 1) AS one", &format!("q.author_id = {viewer}")),
        friends = newest(
            &format!(
                "(SELECT friend_id FROM friendships WHERE user_id = {viewer} AND friend_active) AS f"
            ),
            "q.author_id = f.friend_id AND q.visibility IN ('public', 'friends')",
        ),
        groups = newest(
            &format!(
                "(SELECT g.id FROM chat_members m JOIN groups g ON g.room_id = m.room_id \
                 WHERE m.user_id = {viewer}) AS g"
            ),
            "q.group_id = g.id",
        ),
    );
    post::Entity::find()
        .from_raw_sql(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            sql,
        ))
        .all(db)
        .await
}

/// Takes the row locks of every comment of a post (PostgreSQL; SQLite's one writer already
/// holds them): a reaction to a comment waits on its row, so a post's deletion then clears
/// every reaction that committed before it.
pub async fn lock_comments(db: &impl ConnectionTrait, post_id: i64) -> Result<(), DbErr> {
    use crate::db::entities::comment;
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        return Ok(());
    }
    comment::Entity::update_many()
        .col_expr(comment::Column::Id, Expr::col(comment::Column::Id))
        .filter(comment::Column::PostId.eq(post_id))
        .exec(db)
        .await?;
    Ok(())
}

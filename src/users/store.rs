//! Queries on users and blocks. Functions take any connection (so they also run inside a
//! transaction) and return `DbErr`; they know nothing of HTTP.

use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Select,
};

use crate::db::entities::user;
use crate::secret::Secret;
use crate::social::store::{is_active_unindexed, name_starts_with};

pub async fn find_by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(db).await
}

/// An active user by id.
pub async fn find_active(db: &impl ConnectionTrait, id: i64) -> Result<Option<user::Model>, DbErr> {
    Ok(find_by_id(db, id).await?.filter(|u| u.is_active))
}

/// Login accepts the username or the email, both ignoring case.
pub async fn find_by_login(
    db: &impl ConnectionTrait,
    login: &str,
) -> Result<Option<user::Model>, DbErr> {
    let lower = login.trim().to_lowercase();
    user::Entity::find()
        .filter(
            Condition::any()
                .add(user::Column::UsernameLower.eq(lower.clone()))
                .add(user::Column::EmailLower.eq(lower)),
        )
        .order_by_asc(user::Column::Id)
        .one(db)
        .await
}

/// Whether another user logs in with `login`, as their username or as their email: a username
/// may hold `@` and login takes either, so usernames and emails share one namespace.
pub async fn login_taken(
    db: &impl ConnectionTrait,
    login: &str,
    except: Option<i64>,
) -> Result<bool, DbErr> {
    let lower = login.to_lowercase();
    let mut q = user::Entity::find().filter(
        Condition::any()
            .add(user::Column::UsernameLower.eq(lower.clone()))
            .add(user::Column::EmailLower.eq(lower)),
    );
    if let Some(id) = except {
        q = q.filter(user::Column::Id.ne(id));
    }
    Ok(q.count(db).await? > 0)
}

pub struct NewUser {
    pub username: String,
    pub email: String,
    pub password_hash: Secret,
    pub first_name: String,
    pub last_name: String,
    pub is_staff: bool,
    pub is_superuser: bool,
    /// Whether the address counts as confirmed from the start (`createsuperuser`'s does).
    pub email_verified: bool,
}

/// Stores a new active user and counts it among the active users, in one transaction.
pub async fn insert(db: &sea_orm::DatabaseConnection, new: NewUser) -> Result<user::Model, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let user = user::ActiveModel {
        username_lower: Set(new.username.to_lowercase()),
        username: Set(new.username),
        email_lower: Set(new.email.to_lowercase()),
        email: Set(new.email),
        password: Set(new.password_hash),
        first_name: Set(new.first_name),
        last_name: Set(new.last_name),
        is_staff: Set(new.is_staff),
        is_superuser: Set(new.is_superuser),
        is_active: Set(true),
        date_joined: Set(crate::db::now()),
        last_login: Set(None),
        last_seen: Set(None),
        token_version: Set(0),
        bio: Set(String::new()),
        location: Set(String::new()),
        website: Set(String::new()),
        birth_date: Set(None),
        visibility: Set("public".into()),
        show_online_status: Set(true),
        allow_messages_from: Set("everyone".into()),
        avatar_id: Set(None),
        cover_id: Set(None),
        friend_count: Set(0),
        email_verified: Set(new.email_verified),
        reset_stamp: Set(0),
        deleted_at: Set(None),
        suspended: Set(false),
        suspended_until: Set(None),
        suspension_reason: Set(String::new()),
        suspended_at: Set(None),
        suspended_by: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    crate::db::add_to_counter(&txn, crate::db::ACTIVE_USERS, 1).await?;
    txn.commit().await?;
    Ok(user)
}

/// Saves the changed columns of `model`.
pub async fn save(
    db: &impl ConnectionTrait,
    model: user::ActiveModel,
) -> Result<user::Model, DbErr> {
    model.update(db).await
}

pub async fn touch_last_login(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::LastLogin, Expr::value(crate::db::now()))
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn touch_last_seen(db: &impl ConnectionTrait, id: i64) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::LastSeen, Expr::value(crate::db::now()))
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Replaces the password hash and bumps the token version, so every access token issued
/// before now stops working.
pub async fn set_password(db: &impl ConnectionTrait, id: i64, hash: Secret) -> Result<(), DbErr> {
    revoking(db, id, user::Column::Password, Expr::value(hash)).await
}

/// Deactivates the user and, like `set_password`, ends every token issued before now; the
/// active users' count drops with it (once: an inactive user is left as it is).
pub async fn deactivate(txn: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    let done = user::Entity::update_many()
        .col_expr(user::Column::IsActive, Expr::value(false))
        .col_expr(
            user::Column::TokenVersion,
            Expr::col(user::Column::TokenVersion).add(1),
        )
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::IsActive.eq(true))
        .exec(txn)
        .await?;
    let gone = i64::try_from(done.rows_affected).unwrap_or(0);
    crate::social::store::refresh_as_friend(txn, id).await?;
    crate::db::add_to_counter(txn, crate::db::ACTIVE_USERS, -gone).await?;
    Ok(gone > 0)
}

/// Empties user `id` into the shell of a deleted account: inactive, every token ended, the
/// profile, settings and password gone, the username and email freed (a `:` is in no username
/// or address a user can choose). The id stays (never reused) for staff's records.
///
/// False (and nothing changed) when the account was no longer active: a racing deletion came
/// first.
pub async fn erase_profile(txn: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    if !deactivate(txn, id).await? {
        return Ok(false);
    }
    let shell = format!("deleted:{id}");
    use user::Column as C;
    user::Entity::update_many()
        .col_expr(C::Username, Expr::value(shell.clone()))
        .col_expr(C::UsernameLower, Expr::value(shell.clone()))
        .col_expr(C::Email, Expr::value(shell.clone()))
        .col_expr(C::EmailLower, Expr::value(shell))
        // Django's unusable password: no hash verifies against it.
        .col_expr(C::Password, Expr::value("!"))
        .col_expr(C::FirstName, Expr::value(""))
        .col_expr(C::LastName, Expr::value(""))
        .col_expr(C::Bio, Expr::value(""))
        .col_expr(C::Location, Expr::value(""))
        .col_expr(C::Website, Expr::value(""))
        .col_expr(C::BirthDate, Expr::value(Option::<chrono::NaiveDate>::None))
        .col_expr(C::AvatarId, Expr::value(Option::<i64>::None))
        .col_expr(C::CoverId, Expr::value(Option::<i64>::None))
        .col_expr(C::EmailVerified, Expr::value(false))
        .col_expr(C::IsStaff, Expr::value(false))
        .col_expr(C::IsSuperuser, Expr::value(false))
        .col_expr(C::DeletedAt, Expr::value(crate::db::now()))
        .filter(C::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(true)
}

/// Sets `column` of user `id` to `value` and bumps the token version in the same statement.
async fn revoking(
    db: &impl ConnectionTrait,
    id: i64,
    column: user::Column,
    value: SimpleExpr,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(column, value)
        .col_expr(
            user::Column::TokenVersion,
            Expr::col(user::Column::TokenVersion).add(1),
        )
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Active users other than `blocked` (those blocked either way with the viewer), optionally
/// matching `search` in username, first or last name; by username (the index on
/// `(is_active, username_lower)` serves the filter and the order, and a deep page skips
/// index entries only).
pub fn visible_query(
    backend: sea_orm::DbBackend,
    blocked: &[i64],
    search: Option<&str>,
    order: sea_orm::Order,
) -> Select<user::Entity> {
    let search = search.map(str::trim).filter(|s| !s.is_empty());
    let mut q = user::Entity::find().filter(match search {
        Some(_) => is_active_unindexed(backend),
        None => user::Column::IsActive.eq(true),
    });
    if !blocked.is_empty() {
        q = q.filter(user::Column::Id.is_not_in(blocked.to_vec()));
    }
    if let Some(s) = search {
        q = q.filter(name_starts_with(backend, s));
    }
    q.order_by(user::Column::UsernameLower, order)
}

/// Users by id, in no particular order.
pub async fn find_many(
    db: &impl ConnectionTrait,
    ids: Vec<i64>,
) -> Result<Vec<user::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await
}

/// The active users of these lower-cased usernames (those `@mentioned` in a post).
pub async fn find_by_usernames(
    db: &impl ConnectionTrait,
    names: &[String],
) -> Result<Vec<user::Model>, DbErr> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    user::Entity::find()
        .filter(user::Column::UsernameLower.is_in(names.iter().take(50).cloned()))
        .filter(user::Column::IsActive.eq(true))
        .all(db)
        .await
}

//! Indexes behind `?search=` on users and friends, which matches the start of a username,
//! first name or last name ignoring case: SQLite compares the lower-cased text as bytes (its
//! default collation), so a range on an index of the expression serves it; PostgreSQL serves
//! `LIKE 'prefix%'` from `text_pattern_ops` indexes, whatever the database's collation.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (index name, indexed expression)
const INDEXES: &[(&str, &str)] = &[
    ("idx_users_username_prefix", "username_lower"),
    ("idx_users_first_name_prefix", "lower(first_name)"),
    ("idx_users_last_name_prefix", "lower(last_name)"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        for (name, expr) in INDEXES {
            // SQLite: `username_lower` already has its unique index, in byte order.
            let sql = if postgres {
                format!("CREATE INDEX {name} ON users (({expr}) text_pattern_ops)")
            } else if *expr == "username_lower" {
                continue;
            } else {
                format!("CREATE INDEX {name} ON users ({expr})")
            };
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                .await?;
        }
        Ok(())
    }
}

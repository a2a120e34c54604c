//! Persistence over sqlx: SQLite (the embedded default, WAL) or PostgreSQL (several nodes),
//! chosen by URL. The only module with SQL.
//!
//! Both back ends run the same queries, written with `$N` placeholders (SQLite accepts them),
//! checked at run time (no compile-time macros, which would need a live database of each kind
//! at build time). Each back end has its own migration folder with identical version numbers;
//! a test asserts both reach the same version and tables.
//!
//! SQLite allows one writer at a time: writes go through a one-connection pool, reads through a
//! pool of their own, so writers queue in order instead of sleeping in the busy handler.
//! `synchronous = FULL`: a committed transaction survives power loss, which the audit log
//! promises.
//!
//! One module per aggregate, each with its typed rows and its queries written once for both
//! back ends: [`keys`] (settings and wrapped service keys), [`persons`] (persons and their
//! login factors), [`login`] (throttling, tokens, OAuth and WebAuthn states), [`credentials`],
//! [`sad`] (signature activation uses), [`documents`], [`cases`] (signing cases), [`orgs`],
//! [`roles`] (rules of representation, members' roles and requests), [`mandates`] (powers of
//! attorney), [`lifecycle`] (deleted credentials), [`audit`], [`pki`], [`tags`] (integrity tags
//! of rows older than the records key), [`approvals`] (approval requests on the person's phone),
//! [`operations`] (asynchronous signing operations and their results) and [`clients`] (pushed
//! authorization requests, single-use proof ids, system clients and their rate windows). The
//! statements are bound by the small macros below, so an aggregate reads as its SQL.
//!
//! Uses nothing else of the crate.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions, Postgres};
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::Row;
use sqlx::Transaction;

/// Runs the same expression on whichever pool the store has.
macro_rules! on_pool {
    ($store:expr, $kind:ident, |$pool:ident| $body:expr) => {
        match $store {
            Store::Sqlite { $kind: $pool, .. } => $body,
            Store::Postgres($pool) => $body,
        }
    };
}

/// Runs the same expression on whichever connection the transaction has.
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

/// Executes a statement with its arguments bound in order on the store's writer (or, with
/// `tx`, inside a transaction); answers the rows affected.
macro_rules! execute {
    (tx $tx:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        on_tx!($tx, |conn| sqlx::query($sql)$(.bind($arg))*.execute(conn).await.map(|r| r.rows_affected()))
    };
    ($store:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        on_pool!($store, write, |pool| sqlx::query($sql)$(.bind($arg))*.execute(pool).await.map(|r| r.rows_affected()))
    };
}

/// Fetches `$row`s (`fetch_one`, `fetch_optional` or `fetch_all`) with the arguments bound in
/// order, from the store's readers, its writer (`write`, for statements that change rows) or a
/// transaction (`tx`).
macro_rules! fetch {
    (tx $tx:expr, $fetch:ident, $row:ty, $sql:expr $(, $arg:expr)* $(,)?) => {
        on_tx!($tx, |conn| sqlx::query_as::<_, $row>($sql)$(.bind($arg))*.$fetch(conn).await)
    };
    (write $store:expr, $fetch:ident, $row:ty, $sql:expr $(, $arg:expr)* $(,)?) => {
        on_pool!($store, write, |pool| sqlx::query_as::<_, $row>($sql)$(.bind($arg))*.$fetch(pool).await)
    };
    ($store:expr, $fetch:ident, $row:ty, $sql:expr $(, $arg:expr)* $(,)?) => {
        on_pool!($store, read, |pool| sqlx::query_as::<_, $row>($sql)$(.bind($arg))*.$fetch(pool).await)
    };
}

/// `SELECT` a row type's columns (`$columns`: the name of one of the aggregates' column
/// macros) `FROM` a table and the rest of the statement.
macro_rules! select_from {
    ($columns:ident, $from:literal) => {
        concat!("SELECT ", $columns!(), " FROM ", $from)
    };
}

pub mod approvals;
pub mod audit;
pub mod cases;
pub mod clients;
pub mod credentials;
pub mod documents;
pub mod keys;
pub mod lifecycle;
pub mod login;
pub mod mandates;
pub mod operations;
pub mod orgs;
pub mod persons;
pub mod pki;
pub mod roles;
pub mod sad;
pub mod tags;

pub use approvals::ApprovalRow;
pub use audit::{AuditFilter, AuditRow, CheckpointRow};
pub use cases::{CaseRow, CaseSignatureRow};
pub use clients::{PushedRequestRow, SystemClientRow};
pub use credentials::CredentialRow;
pub use documents::DocumentRow;
pub use keys::StoredKey;
pub use login::{OauthCodeRow, OauthRequestRow};
pub use mandates::{MandateAssignmentRow, MandateRow};
pub use operations::OperationRow;
pub use orgs::{InvitationRow, MemberRow, OrganisationRow};
pub use persons::{PasskeyRow, PersonRow};
pub use pki::CertificateRow;
pub use roles::{RequestRow, RoleRow, RuleRow};
pub use tags::{Tagged, Untagged};

/// Errors from the store. Messages never carry the database password.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database cannot be reached or opened.
    #[error("database unavailable ({target}): {message}")]
    Unavailable {
        /// The URL without credentials.
        target: String,
        /// Driver message.
        message: String,
    },
    /// Migrations failed.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A row with the same key exists.
    #[error("already exists")]
    Conflict,
    /// Any other database failure.
    #[error("database error: {0}")]
    Query(String),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict,
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                Self::Unavailable {
                    target: "pool".into(),
                    message: e.to_string(),
                }
            }
            other => Self::Query(other.to_string()),
        }
    }
}

/// Which database engine a store uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, embedded.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Largest pool size.
    pub max_connections: u32,
    /// Longest wait to connect or to get a pooled connection.
    pub connect_timeout: Duration,
}

/// The database: cheap to clone.
#[derive(Debug, Clone)]
pub enum Store {
    /// SQLite with a single writer connection and a read pool.
    Sqlite {
        /// One connection: SQLite has one writer.
        write: SqlitePool,
        /// Readers (WAL lets them run beside the writer).
        read: SqlitePool,
    },
    /// PostgreSQL.
    Postgres(PgPool),
}

/// A database transaction on either back end. On SQLite it is `BEGIN IMMEDIATE` on the single
/// writer connection; on PostgreSQL a plain transaction.
#[derive(Debug)]
pub enum Tx {
    /// SQLite.
    Sqlite(Transaction<'static, Sqlite>),
    /// PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    /// Commits.
    ///
    /// # Errors
    /// Database errors.
    pub async fn commit(self) -> Result<(), Error> {
        match self {
            Self::Sqlite(t) => t.commit().await?,
            Self::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

const TABLES_SQLITE: &str = "SELECT name FROM sqlite_master WHERE type = 'table' \
     AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name";
const TABLES_POSTGRES: &str = "SELECT table_name AS name FROM information_schema.tables \
     WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%' ORDER BY table_name";
const SCHEMA_VERSION: &str =
    "SELECT COALESCE(MAX(version), 0) AS version FROM _sqlx_migrations WHERE success";

/// The migrations of each back end, embedded at build time.
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator =
    sqlx::migrate!("src/store/migrations/postgres");

impl Store {
    /// Connects to `url` (`sqlite:` or `postgres://`) and applies the migrations.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the database cannot be reached; [`Error::Migration`].
    pub async fn connect(url: &str, options: &Options) -> Result<Self, Error> {
        let target = redact_url(url);
        let unavailable = |e: sqlx::Error| Error::Unavailable {
            target: target.clone(),
            message: e.to_string(),
        };
        let migration = |e: sqlx::migrate::MigrateError| Error::Migration(e.to_string());
        let store = if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)
                .map_err(unavailable)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(options.connect_timeout);
            private_file(connect.get_filename()).map_err(|e| Error::Unavailable {
                target: target.clone(),
                message: format!("cannot create the database file owner-only: {e}"),
            })?;
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(options.connect_timeout)
                .connect_with(connect.clone())
                .await
                .map_err(unavailable)?;
            SQLITE_MIGRATIONS.run(&write).await.map_err(migration)?;
            let read = SqlitePoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.connect_timeout)
                .connect_with(connect.read_only(true))
                .await
                .map_err(unavailable)?;
            Self::Sqlite { write, read }
        } else {
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.connect_timeout)
                .connect(url)
                .await
                .map_err(unavailable)?;
            POSTGRES_MIGRATIONS.run(&pool).await.map_err(migration)?;
            Self::Postgres(pool)
        };
        Ok(store)
    }

    /// The engine in use.
    #[must_use]
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite { .. } => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Checks that the database answers (for `/readyz`).
    ///
    /// # Errors
    /// [`Error::Unavailable`] or a query error.
    pub async fn ping(&self) -> Result<(), Error> {
        on_pool!(self, read, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The highest applied migration version.
    ///
    /// # Errors
    /// Query errors.
    pub async fn schema_version(&self) -> Result<i64, Error> {
        Ok(on_pool!(self, read, |pool| sqlx::query(SCHEMA_VERSION)
            .fetch_one(pool)
            .await
            .and_then(|row| row.try_get::<i64, _>("version")))?)
    }

    /// The application's table names, sorted.
    ///
    /// # Errors
    /// Query errors.
    pub async fn tables(&self) -> Result<Vec<String>, Error> {
        let names = match self {
            Self::Sqlite { read, .. } => {
                let rows = sqlx::query(TABLES_SQLITE).fetch_all(read).await?;
                rows.iter()
                    .map(|r| r.try_get::<String, _>("name"))
                    .collect::<Result<_, _>>()
            }
            Self::Postgres(pool) => {
                let rows = sqlx::query(TABLES_POSTGRES).fetch_all(pool).await?;
                rows.iter()
                    .map(|r| r.try_get::<String, _>("name"))
                    .collect::<Result<_, _>>()
            }
        };
        Ok(names?)
    }

    /// Starts a write transaction (see [`Tx`]).
    ///
    /// # Errors
    /// Database errors.
    pub async fn begin(&self) -> Result<Tx, Error> {
        Ok(match self {
            Self::Sqlite { write, .. } => Tx::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Deletes what can no longer be used (all before `now`, Unix seconds): ceremony states,
    /// OAuth requests and codes, revoked tokens past their expiry, SAD uses and spends of
    /// expired SADs, expired enrolment codes, asynchronous operations and documents, login
    /// throttle rows whose lock ended more than a day ago, approval requests whose time and SAD
    /// both ended, and the clients' expired working data ([`Store::prune_clients`]). Answers the
    /// rows deleted per table.
    ///
    /// # Errors
    /// Database errors.
    pub async fn prune(&self, now: i64) -> Result<Vec<(&'static str, u64)>, Error> {
        const EXPIRED: [(&str, &str); 9] = [
            (
                "webauthn_states",
                "DELETE FROM webauthn_states WHERE expires_at < $1",
            ),
            (
                "oauth_requests",
                "DELETE FROM oauth_requests WHERE expires_at < $1",
            ),
            (
                "oauth_codes",
                "DELETE FROM oauth_codes WHERE expires_at < $1",
            ),
            (
                "revoked_tokens",
                "DELETE FROM revoked_tokens WHERE expires_at < $1",
            ),
            ("sad_uses", "DELETE FROM sad_uses WHERE expires_at < $1"),
            ("sad_spent", "DELETE FROM sad_spent WHERE expires_at < $1"),
            (
                "enrolment_codes",
                "DELETE FROM enrolment_codes WHERE expires_at < $1",
            ),
            (
                "login_throttle",
                "DELETE FROM login_throttle WHERE locked_until <> 0 AND locked_until < $1 - 86400",
            ),
            (
                "csc_operations",
                "DELETE FROM csc_operations WHERE expires_at < $1",
            ),
        ];
        let mut out = Vec::with_capacity(EXPIRED.len() + 2);
        for (table, sql) in EXPIRED {
            let n = execute!(self, sql, now)?;
            out.push((table, n));
        }
        out.push(("documents", self.prune_documents(now).await?));
        out.push(("approval_requests", self.prune_approvals(now).await?));
        out.extend(self.prune_clients(now).await?);
        Ok(out)
    }

    /// Closes the pools, waiting for connections to be returned.
    pub async fn close(&self) {
        match self {
            Self::Sqlite { write, read } => {
                read.close().await;
                write.close().await;
            }
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// Creates the SQLite database file readable and writable by its owner only (0600), or
/// tightens an existing one; SQLite gives its `-wal` and `-shm` files the database file's
/// permissions. In-memory databases are left alone.
fn private_file(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    if path.as_os_str().is_empty() || path == std::path::Path::new(":memory:") {
        return Ok(());
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// The URL without user information, for messages.
#[must_use]
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://<redacted>@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_credentials() {
        assert_eq!(
            redact_url("postgres://u:pw@h:5432/db"),
            "postgres://<redacted>@h:5432/db"
        );
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact_url("sqlite://./var/q.db"), "sqlite://./var/q.db");
    }
}

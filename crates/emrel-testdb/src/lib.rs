//! Where the integration suites put their projects: a temporary folder for SQLite files, and
//! throwaway databases on a real PostgreSQL server. Each [`Target`] creates its own databases
//! and drops them, with the model folders their projects keep on this machine, when it is
//! dropped (also when the test panics).
//!
//! The server is `$EMREL_TEST_POSTGRES` (an URL of a role allowed to create databases), else
//! `postgres://postgres@127.0.0.1:5432/postgres`. When it does not answer, a PostgreSQL test
//! skips with a message, unless `EMREL_REQUIRE_POSTGRES=1` (CI sets it): then it fails.

use std::path::PathBuf;
use std::sync::Mutex;

use emrel_store::Location;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// Runs a test on SQLite and on PostgreSQL: `both!(name)` after (or before) `async fn
/// name(t: Target)` defines the tests `name::sqlite` and `name::postgres`, each calling it with
/// its target.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::Target::sqlite()).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(target) = $crate::Target::postgres(stringify!($name)).await {
                    super::$name(target).await
                }
            }
        }
    };
}

/// The admin URL of the test server.
pub fn server_url() -> String {
    std::env::var("EMREL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn required() -> bool {
    std::env::var("EMREL_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// `url` with its database replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{base}/{db}{query}")
}

/// The projects of one test.
pub struct Target {
    dir: tempfile::TempDir,
    server: Option<String>,
    databases: Mutex<Vec<String>>,
}

impl Target {
    /// Projects as SQLite files in a fresh temporary folder.
    pub fn sqlite() -> Target {
        Target { dir: tempfile::tempdir().unwrap(), server: None, databases: Mutex::new(vec![]) }
    }

    /// Projects as databases on the test server; `None` (with a message) when it does not
    /// answer and CI did not require it.
    pub async fn postgres(test: &str) -> Option<Target> {
        let url = server_url();
        match PgConnection::connect(&url).await {
            Ok(c) => {
                let _ = c.close().await;
                Some(Target {
                    dir: tempfile::tempdir().unwrap(),
                    server: Some(url),
                    databases: Mutex::new(vec![]),
                })
            }
            Err(e) if required() => {
                panic!("{test}: the PostgreSQL test server does not answer: {e}")
            }
            Err(e) => {
                eprintln!(
                    "SKIPPED {test} on PostgreSQL: no server answers ({e}); set \
                     EMREL_TEST_POSTGRES to a server's URL"
                );
                None
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.server.is_some()
    }

    /// A temporary folder of this test (for input and export files).
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// A new, empty project location: `<tmp>/<name>` on SQLite, a new database on PostgreSQL.
    pub async fn location(&self, name: &str) -> Location {
        let Some(server) = &self.server else {
            return Location::File(self.dir.path().join(name));
        };
        let db = format!("emrel_test_{:016x}", rand::random::<u64>());
        let mut admin = PgConnection::connect(server).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {db}")).execute(&mut admin).await.unwrap();
        let _ = admin.close().await;
        self.databases.lock().unwrap().push(db.clone());
        Location::Server(with_database(server, &db))
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let Some(server) = self.server.clone() else { return };
        let dbs = std::mem::take(&mut *self.databases.lock().unwrap());
        if dbs.is_empty() {
            return;
        }
        // A runtime of its own on a thread of its own: drop may run inside the test's runtime.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                // The model folders a server project keeps on this machine go first.
                for db in &dbs {
                    let location = Location::Server(with_database(&server, db));
                    if let Ok(store) = emrel_store::Store::open(&location).await {
                        let _ = std::fs::remove_dir_all(store.models_dir());
                        store.close().await;
                    }
                }
                let mut admin = PgConnection::connect(&server).await?;
                for db in dbs {
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await?;
                }
                admin.close().await
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop a test database: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(
            with_database("postgres:///postgres?host=/tmp/pg&port=5433", "x"),
            "postgres:///x?host=/tmp/pg&port=5433"
        );
    }
}

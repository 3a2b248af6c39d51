//! Where a project lives: a SQLite file or a PostgreSQL database named by URL.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A project's location, as `--project` / `EMREL_PROJECT` give it: a `postgres://` (or
/// `postgresql://`) URL names a database on a server, anything else a SQLite file. Its `Display`
/// is safe to print: a password in the URL is shown as `***`.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Server(String),
}

impl Location {
    pub fn parse(s: &str) -> Location {
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Location::Server(s.to_string())
        } else {
            Location::File(PathBuf::from(s))
        }
    }

    /// The SQLite file, if this is one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Location::File(p) => Some(p),
            Location::Server(_) => None,
        }
    }

    pub fn is_server(&self) -> bool {
        matches!(self, Location::Server(_))
    }
}

impl FromStr for Location {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Location, Self::Err> {
        Ok(Location::parse(s))
    }
}

impl From<&Path> for Location {
    fn from(p: &Path) -> Location {
        Location::File(p.to_path_buf())
    }
}

impl From<&PathBuf> for Location {
    fn from(p: &PathBuf) -> Location {
        Location::File(p.clone())
    }
}

impl From<&Location> for Location {
    fn from(l: &Location) -> Location {
        l.clone()
    }
}

impl From<PathBuf> for Location {
    fn from(p: PathBuf) -> Location {
        Location::File(p)
    }
}

/// `url` with the password of its user part and any `password=` parameter replaced by `***`.
fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _password)) => format!("{name}:***@{host}"),
            None => format!("{user}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(p) => write!(f, "{}", p.display()),
            Location::Server(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Location({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_a_server_and_its_password_is_never_shown() {
        let l =
            Location::parse("postgres://ann:s3cret@db.example.org:5432/emr?sslmode=verify-full");
        assert!(l.is_server());
        assert_eq!(l.to_string(), "postgres://ann:***@db.example.org:5432/emr?sslmode=verify-full");
        assert!(!format!("{l:?}").contains("s3cret"));
        let q = Location::parse("postgresql://db/emr?user=ann&password=s3cret");
        assert_eq!(q.to_string(), "postgresql://db/emr?user=ann&password=***");
        assert_eq!(Location::parse("postgres:///emr").to_string(), "postgres:///emr");
        let f = Location::parse("projects/p.db");
        assert_eq!(f.file(), Some(Path::new("projects/p.db")));
    }
}

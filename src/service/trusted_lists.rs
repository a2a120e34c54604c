//! EU trusted lists for validation (ETSI TS 119 612): the list of lists (LOTL) fetched from
//! `validation.lotl_url` and verified against exactly the certificates of
//! `validation.lotl_certs`; each national list it points to in XML fetched and verified against
//! the certificates the LOTL names for it (and its territory checked); the raw XML of every
//! verified list cached in `<data_dir>/trusted-lists/` and loaded again at start; the last
//! verified copy kept when a fetch fails or a new copy does not verify; a list that never
//! verified is not used, and every report says so. A background task refreshes the lists at
//! their earliest `NextUpdate`, at least every six hours.
//!
//! The lists are fetched over http or https through the bounded fetcher of online validation
//! ([`super::fetch`]): the addresses checked against the private ranges unless
//! `validation.fetch_allow_private`, TLS trusting the system's roots and `validation.tls_ca`,
//! with a budget of requests per refresh, a size limit per list and a time limit per request
//! of their own. The parsing, the signature check and the qualification are pure, in
//! [`crate::validate::trusted_list`]; this module does the I/O.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use sha2::Digest as _;

use super::fetch::{Fetcher, Limits};
use super::validation::ValidationSettings;
use super::{tls, unix_now};
use crate::clock::SharedClock;
use crate::validate::report::{rfc3339, TrustedListStatus};
use crate::validate::trusted_list::{self, Budget, List, Pointer, Set};
use crate::validate::Cert;

/// Longest wait for one list.
const LIST_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest list fetched, bytes.
const LIST_MAX_BYTES: usize = 16 * 1024 * 1024;
/// Most requests of one refresh (redirects count): the list of lists and the lists it points
/// to.
const LIST_FETCHES: usize = 128;
/// Longest time between two refreshes, seconds.
const REFRESH_EVERY: i64 = 6 * 3600;
/// Shortest time between two refreshes, seconds (a list past its `NextUpdate` is common).
const REFRESH_AT_LEAST: i64 = 300;
/// The cache file of the list of lists.
const LOTL_FILE: &str = "lotl.xml";

/// A verified list and its bytes.
#[derive(Debug, Clone)]
struct Good {
    /// The XML as fetched: what the cache holds and what is verified again when a newer copy
    /// fails.
    raw: Arc<Vec<u8>>,
    list: List,
}

/// The lists in use and when the network was last asked.
#[derive(Debug, Default)]
struct State {
    lotl: Option<Good>,
    /// National lists by location.
    lists: BTreeMap<String, Good>,
    set: Option<Arc<Set>>,
    refreshed: Option<i64>,
}

/// Where a round of [`TrustedLists`] takes the lists from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Network,
    Cache,
}

/// The trusted lists of one validation configuration.
#[derive(Debug)]
pub struct TrustedLists {
    /// The list of lists; none: no trusted lists are used.
    lotl_url: Option<String>,
    /// The only certificates that may sign the list of lists.
    lotl_certs: Vec<Cert>,
    /// The cache; none: nothing is written (`qsign verify --lotl-url`).
    dir: Option<PathBuf>,
    /// Whether the lists may be fetched from private and loopback addresses.
    allow_private: bool,
    /// The TLS client settings of https lists, made once.
    tls: tls::Client,
    state: Mutex<State>,
}

impl Default for TrustedLists {
    fn default() -> Self {
        Self::new(None, &[], None)
    }
}

impl TrustedLists {
    /// Trusted lists from `lotl_url`, whose signer must be one of `lotl_certs` (DER), cached in
    /// `dir`. Nothing is fetched or read until [`Self::load_cache`] or [`Self::refresh`].
    #[must_use]
    pub fn new(lotl_url: Option<String>, lotl_certs: &[Vec<u8>], dir: Option<PathBuf>) -> Self {
        Self {
            lotl_url,
            lotl_certs: lotl_certs.iter().filter_map(|d| Cert::parse(d)).collect(),
            dir,
            allow_private: false,
            tls: Fetcher::tls_client(Vec::new()),
            state: Mutex::new(State::default()),
        }
    }

    /// These lists fetched as `settings` say: from private addresses or not
    /// (`fetch_allow_private`), over TLS trusting the system's roots and `tls_roots`.
    #[must_use]
    pub fn with_fetch(mut self, settings: &ValidationSettings) -> Self {
        self.allow_private = settings.fetch_allow_private;
        self.tls = Fetcher::tls_client(settings.tls_roots.clone());
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The lists in use, or `None` when none are configured (a configured list not loaded yet
    /// is a set with no list and a status that says so).
    #[must_use]
    pub fn current(&self) -> Option<Arc<Set>> {
        let url = self.lotl_url.as_ref()?;
        let set = self.lock().set.clone();
        Some(set.unwrap_or_else(|| {
            Arc::new(Set {
                lists: Vec::new(),
                statuses: vec![status(
                    url,
                    Some("EU".into()),
                    None,
                    Some("the trusted lists are not loaded yet".into()),
                )],
            })
        }))
    }

    /// Loads the lists cached by earlier refreshes, each verified again.
    pub async fn load_cache(&self, now: i64) -> Arc<Set> {
        self.update(Source::Cache, now).await
    }

    /// Fetches and verifies the lists now, keeping the last verified copy of any that fails.
    pub async fn refresh(&self, now: i64) -> Arc<Set> {
        self.update(Source::Network, now).await
    }

    /// How long until the next refresh is due: at once when nothing verified was ever
    /// loaded, or when the cached lists are past their `NextUpdate` and the network was not
    /// asked yet; else at the earliest `NextUpdate`, within five minutes and six hours.
    #[must_use]
    pub fn until_refresh(&self, now: i64) -> Duration {
        let state = self.lock();
        let wait = match &state.lotl {
            None if state.refreshed.is_none() => 0,
            None => REFRESH_AT_LEAST,
            Some(lotl) => {
                let next = std::iter::once(&lotl.list)
                    .chain(state.lists.values().map(|g| &g.list))
                    .filter_map(|l| l.next_update)
                    .min()
                    .unwrap_or_else(|| now.saturating_add(REFRESH_EVERY));
                if state.refreshed.is_none() && next <= now {
                    0
                } else {
                    next.saturating_sub(now)
                        .clamp(REFRESH_AT_LEAST, REFRESH_EVERY)
                }
            }
        };
        Duration::from_secs(u64::try_from(wait).unwrap_or(0))
    }

    /// Starts the background refresh: the cache first, then the network whenever
    /// [`Self::until_refresh`] says; nothing when no list is configured. The task ends with
    /// the runtime.
    pub fn start_refresh(self: &Arc<Self>, clock: SharedClock) {
        if self.lotl_url.is_none() {
            return;
        }
        let lists = Arc::clone(self);
        tokio::spawn(async move {
            lists.load_cache(unix_now(&clock)).await;
            loop {
                let wait = lists.until_refresh(unix_now(&clock));
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                let set = lists.refresh(unix_now(&clock)).await;
                for s in &set.statuses {
                    if let Some(problem) = &s.problem {
                        tracing::warn!(
                            location = %s.location,
                            verified = s.verified,
                            problem = %problem,
                            "trusted list"
                        );
                    }
                }
            }
        });
    }

    async fn update(&self, source: Source, now: i64) -> Arc<Set> {
        let Some(url) = self.lotl_url.clone() else {
            return Arc::new(Set::default());
        };
        let (old_lotl, old_lists) = {
            let state = self.lock();
            (state.lotl.clone(), state.lists.clone())
        };
        // One fetcher, with its own budget, for the whole refresh.
        let fetcher = (source == Source::Network).then(|| {
            let limits = Limits {
                timeout: LIST_TIMEOUT,
                max_bytes: LIST_MAX_BYTES,
                requests: LIST_FETCHES,
                allow_private: self.allow_private,
            };
            Fetcher::with_limits(limits, self.tls.clone())
        });
        let mut statuses = Vec::new();
        let (lotl, problem) = if self.lotl_certs.is_empty() {
            (
                None,
                Some(
                    "validation.lotl_certs names no certificate: the list of lists cannot be \
                     trusted"
                        .to_owned(),
                ),
            )
        } else {
            let fresh = self.obtain(fetcher.as_ref(), &url, LOTL_FILE).await;
            self.check(
                fresh,
                old_lotl.map(|g| g.raw),
                self.lotl_certs.clone(),
                None,
                self.cache_file(source, LOTL_FILE),
                now,
            )
            .await
        };
        statuses.push(status(&url, Some("EU".into()), lotl.as_ref(), problem));
        let mut lists = BTreeMap::new();
        let pointers: Vec<Pointer> = lotl
            .iter()
            .flat_map(|l| l.list.pointers.iter())
            .filter(|p| p.is_xml() && !p.is_list_of_lists() && p.location != url)
            .cloned()
            .collect();
        for pointer in pointers {
            let file = file_name(&pointer);
            let fresh = self
                .obtain(fetcher.as_ref(), &pointer.location, &file)
                .await;
            let old = old_lists.get(&pointer.location).map(|g| Arc::clone(&g.raw));
            let location = pointer.location.clone();
            let territory = pointer.territory.clone();
            let (good, problem) = self
                .check(
                    fresh,
                    old,
                    pointer.certificates.clone(),
                    Some(pointer),
                    self.cache_file(source, &file),
                    now,
                )
                .await;
            statuses.push(status(&location, territory, good.as_ref(), problem));
            if let Some(good) = good {
                lists.insert(location, good);
            }
        }
        let set = Arc::new(Set {
            lists: lists.values().map(|g| g.list.clone()).collect(),
            statuses,
        });
        let mut state = self.lock();
        state.lotl = lotl;
        state.lists = lists;
        state.set = Some(Arc::clone(&set));
        if source == Source::Network {
            state.refreshed = Some(now);
        }
        set
    }

    /// Where a freshly fetched copy is written once verified (never for the cache's own).
    fn cache_file(&self, source: Source, file: &str) -> Option<PathBuf> {
        (source == Source::Network)
            .then(|| self.dir.as_ref().map(|d| d.join(file)))
            .flatten()
    }

    /// A list from the network when there is a fetcher, else from the cache.
    async fn obtain(
        &self,
        fetcher: Option<&Fetcher>,
        location: &str,
        file: &str,
    ) -> Result<Vec<u8>, String> {
        if let Some(fetcher) = fetcher {
            return fetcher
                .fetch(location, None)
                .await
                .map_err(|e| format!("{location}: {e}"));
        }
        let Some(dir) = &self.dir else {
            return Err("no cache directory".into());
        };
        let path = dir.join(file);
        tokio::task::spawn_blocking(move || std::fs::read(&path))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("no cached copy ({e})"))
    }

    /// Verifies the copy obtained, else the last verified one (again, with today's signers
    /// and time), off the async runtime; writes a fresh verified copy to `cache`. Answers the
    /// copy in use and what went wrong.
    async fn check(
        &self,
        fresh: Result<Vec<u8>, String>,
        old: Option<Arc<Vec<u8>>>,
        signers: Vec<Cert>,
        pointer: Option<Pointer>,
        cache: Option<PathBuf>,
        now: i64,
    ) -> (Option<Good>, Option<String>) {
        let work = move || {
            let verify = |raw: &[u8]| {
                let list = trusted_list::verify(raw, &signers, now, &Budget::default())?;
                if let Some(p) = &pointer {
                    trusted_list::check_territory(&list, p)?;
                }
                Ok::<List, trusted_list::Error>(list)
            };
            let why = match fresh {
                Ok(raw) => match verify(raw.as_slice()) {
                    Ok(list) => {
                        if let Some(path) = &cache {
                            write_atomically(path, &raw);
                        }
                        let raw = Arc::new(raw);
                        return (Some(Good { raw, list }), None);
                    }
                    Err(e) => format!("{e} ({})", e.code()),
                },
                Err(why) => why,
            };
            match old.map(|raw| (verify(raw.as_slice()), raw)) {
                Some((Ok(list), raw)) => (
                    Some(Good { raw, list }),
                    Some(format!("{why}; the last verified copy is used")),
                ),
                _ => (None, Some(why)),
            }
        };
        tokio::task::spawn_blocking(work)
            .await
            .unwrap_or_else(|e| (None, Some(format!("the verification stopped: {e}"))))
    }
}

/// Writes `bytes` to `path` through a temporary file, so a reader never sees half a list; a
/// failure is logged (the list in memory is still used).
fn write_atomically(path: &Path, bytes: &[u8]) {
    let result = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| {
            let temporary = path.with_extension("xml.tmp");
            std::fs::write(&temporary, bytes)?;
            std::fs::rename(&temporary, path)
        });
    if let Err(e) = result {
        tracing::warn!(path = %path.display(), error = %e, "cannot cache a trusted list");
    }
}

/// The cache file of a national list: its territory (two letters), else a digest of its
/// location.
fn file_name(pointer: &Pointer) -> String {
    match pointer.territory.as_deref() {
        Some(t) if t.len() == 2 && t.bytes().all(|b| b.is_ascii_alphabetic()) => {
            format!("{}.xml", t.to_ascii_uppercase())
        }
        _ => {
            let digest = hex::encode(sha2::Sha256::digest(pointer.location.as_bytes()));
            format!("list-{}.xml", digest.get(..16).unwrap_or_default())
        }
    }
}

fn status(
    location: &str,
    territory: Option<String>,
    good: Option<&Good>,
    problem: Option<String>,
) -> TrustedListStatus {
    TrustedListStatus {
        location: location.to_owned(),
        territory: good.map(|g| g.list.territory.clone()).or(territory),
        sequence_number: good.and_then(|g| g.list.sequence_number),
        next_update: good.and_then(|g| g.list.next_update).map(rfc3339),
        verified: good.is_some(),
        problem,
        providers: good.map_or(0, |g| g.list.providers.len()),
        services: good.map_or(0, |g| g.list.service_count()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_files_are_named_by_territory_or_by_a_digest_of_the_location() {
        let pointer = |territory: Option<&str>| Pointer {
            location: "http://example.test/list.xml".into(),
            territory: territory.map(str::to_owned),
            mime_type: None,
            list_type: None,
            certificates: Vec::new(),
        };
        assert_eq!(file_name(&pointer(Some("dk"))), "DK.xml");
        let odd = file_name(&pointer(Some("../../etc")));
        assert!(odd.starts_with("list-") && !odd.contains('/'), "{odd}");
        assert_eq!(file_name(&pointer(None)), odd);
    }

    #[tokio::test]
    async fn without_a_list_of_lists_nothing_is_used_and_nothing_is_due() {
        let none = TrustedLists::default();
        assert!(none.current().is_none());
        assert!(none.refresh(0).await.statuses.is_empty());
        let unsigned = TrustedLists::new(Some("http://127.0.0.1:9/lotl.xml".into()), &[], None);
        let set = unsigned.current().unwrap();
        assert!(set.statuses[0]
            .problem
            .as_deref()
            .unwrap()
            .contains("not loaded"));
        assert_eq!(unsigned.until_refresh(0), Duration::ZERO);
        let set = unsigned.refresh(0).await;
        assert!(!set.statuses[0].verified);
        assert!(
            set.statuses[0]
                .problem
                .as_deref()
                .unwrap()
                .contains("lotl_certs"),
            "{set:?}"
        );
        assert_eq!(
            unsigned.until_refresh(0),
            Duration::from_secs(u64::try_from(REFRESH_AT_LEAST).unwrap())
        );
    }
}

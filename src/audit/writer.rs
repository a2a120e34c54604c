//! The group-commit writer: events with no other database change, and guarded records, queue
//! and are appended and committed together in one transaction per batch.

use super::{Appended, Audit, Entry, Error};
use crate::store::{self, Tx};

/// A record waiting for the next group commit, with where to report the outcome.
/// A condition checked inside the audit transaction before its records are appended: the
/// records land only if it says yes, in the same commit as whatever it wrote (for example a
/// conditional update that uses up signature activation data).
pub type Guard = Box<
    dyn for<'t> FnOnce(
            &'t mut Tx,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<bool, store::Error>> + Send + 't>,
        > + Send,
>;

/// One request to the group-commit writer.
pub(super) struct Work {
    guard: Option<Guard>,
    /// Appended when there is no guard or it says yes.
    entries: Vec<Entry>,
    /// Appended when the guard says no.
    otherwise: Vec<Entry>,
    at: i64,
}

/// A request and where its outcome goes.
pub(super) type Queued = (
    Work,
    tokio::sync::oneshot::Sender<Result<(bool, Vec<Appended>), String>>,
);

/// The most requests one group commit takes.
const MAX_BATCH: usize = 256;

impl Audit {
    /// Records `entry` for an event with no other database change, and returns once it is
    /// committed. Concurrent calls share transactions (group commit): while one transaction
    /// commits, the next records queue and go into the following one together.
    ///
    /// # Errors
    /// Database or encoding failures: the event is not recorded, and the caller must not go on
    /// as if it were.
    pub async fn record(&self, entry: &Entry, now_ms: i64) -> Result<Appended, Error> {
        let (_, appended) = self
            .submit(None, vec![entry.clone()], Vec::new(), now_ms)
            .await?;
        appended
            .first()
            .copied()
            .ok_or_else(|| Error::Encoding("nothing appended".into()))
    }

    /// Runs `guard` inside a group-commit transaction; if it says yes, appends `entries` in
    /// that transaction, otherwise `otherwise`. Returns the guard's answer once the
    /// transaction committed: what the guard wrote and the records are durable together, or
    /// neither is.
    ///
    /// # Errors
    /// Database or encoding failures: nothing of it was committed.
    pub async fn record_if(
        &self,
        guard: Guard,
        entries: Vec<Entry>,
        otherwise: Vec<Entry>,
        now_ms: i64,
    ) -> Result<bool, Error> {
        Ok(self
            .submit(Some(guard), entries, otherwise, now_ms)
            .await?
            .0)
    }

    async fn submit(
        &self,
        guard: Option<Guard>,
        entries: Vec<Entry>,
        otherwise: Vec<Entry>,
        at: i64,
    ) -> Result<(bool, Vec<Appended>), Error> {
        let queue = self
            .queue
            .get_or_init(|| async {
                let (sender, receiver) = tokio::sync::mpsc::channel(4 * MAX_BATCH);
                tokio::spawn(self.clone().commit_loop(receiver));
                sender
            })
            .await;
        let (done, outcome) = tokio::sync::oneshot::channel();
        let queued = (
            Work {
                guard,
                entries,
                otherwise,
                at,
            },
            done,
        );
        queue
            .send(queued)
            .await
            .map_err(|_| Error::Commit("the audit writer stopped".into()))?;
        outcome
            .await
            .map_err(|_| Error::Commit("the audit writer stopped".into()))?
            .map_err(Error::Commit)
    }

    /// The group-commit writer: takes everything queued, runs the guards and appends the
    /// records in one transaction, commits, then answers every waiter.
    async fn commit_loop(self, mut receiver: tokio::sync::mpsc::Receiver<Queued>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let now_ms = batch.last().map_or(0, |(w, _): &Queued| w.at);
            let (work, waiters): (Vec<Work>, Vec<_>) = batch.drain(..).unzip();
            let outcome = self.commit_batch(work).await;
            match outcome {
                Ok(results) => {
                    // Checkpoints first, so that a caller who sees its record committed also
                    // sees the checkpoint it was due.
                    for a in results.iter().flat_map(|(_, a)| a) {
                        self.committed(*a, now_ms).await;
                    }
                    for (done, result) in waiters.into_iter().zip(results) {
                        let _ = done.send(Ok(result));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, requests = waiters.len(), "audit group commit failed");
                    for done in waiters {
                        let _ = done.send(Err(e.to_string()));
                    }
                }
            }
        }
    }

    /// One group commit. The audit lock is taken first, so that guards from several nodes
    /// run one transaction at a time and cannot deadlock on each other's rows.
    async fn commit_batch(&self, work: Vec<Work>) -> Result<Vec<(bool, Vec<Appended>)>, Error> {
        let mut tx = self.store.begin().await?;
        tx.lock_audit().await?;
        let mut chosen = Vec::with_capacity(work.len());
        for q in work {
            let passed = match q.guard {
                Some(guard) => guard(&mut tx).await?,
                None => true,
            };
            let entries = if passed { q.entries } else { q.otherwise };
            chosen.push((passed, entries, q.at));
        }
        let mut flat: Vec<(&Entry, i64)> = Vec::new();
        for (_, entries, at) in &chosen {
            flat.extend(entries.iter().map(|e| (e, *at)));
        }
        let appended = self.append_all(&mut tx, flat.into_iter()).await?;
        tx.commit().await?;
        let mut appended = appended.into_iter();
        Ok(chosen
            .iter()
            .map(|(passed, entries, _)| (*passed, appended.by_ref().take(entries.len()).collect()))
            .collect())
    }
}

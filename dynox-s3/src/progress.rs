//! [`Progress`]: how far an upload or download of a file field has got, readable at any time
//! from any thread, and optionally pushed to a callback every so many bytes.
//!
//! The transfer adds bytes with one atomic `fetch_add`; a callback, if any, runs only when the
//! count crosses the next multiple of its step (one compare-and-swap decides which thread
//! reports, so parts finishing together never report twice) and once at the end. Leaving it on
//! costs nothing measurable (BENCHMARKS.md, section 3).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// `total` while it is unknown.
const UNKNOWN: u64 = u64::MAX;

/// A reading of a [`Progress`]: bytes done, and the total when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Transferred {
    /// Bytes transferred so far: for an upload, content bytes S3 acknowledged; for a
    /// download, content bytes handed to the caller or written to the file. Never above
    /// `total`.
    pub done: u64,
    /// The content's size, when known: always for downloads and for uploads from bytes or a
    /// file; `None` for a stream or a reader of unknown length.
    pub total: Option<u64>,
}

impl Transferred {
    /// `done / total`, from 0.0 to 1.0; `None` while the total is unknown. An empty content
    /// is 1.0.
    pub fn fraction(&self) -> Option<f64> {
        let total = self.total?;
        Some(if total == 0 {
            1.0
        } else {
            self.done as f64 / total as f64
        })
    }
}

/// How far the transfers of a file have got: a handle that is cheap to clone (an `Arc` of
/// atomics) and that any thread can read while the transfer runs.
///
/// Attach it with [`S3Object::with_progress`](crate::S3Object::with_progress): a pending file
/// reports its upload when the item is saved; a stored file reports its downloads
/// ([`get_bytes`](crate::S3Object::get_bytes), [`save_to`](crate::S3Object::save_to),
/// [`stream`](crate::S3Object::stream) and [`reader`](crate::S3Object::reader)). Each transfer
/// starts it again from zero; within one transfer `done` only grows, and a transfer that
/// succeeds ends with `done` equal to the content's size (for an upload of unknown length,
/// `total` stays `None` and `done` ends at the number of bytes). A failed transfer leaves it
/// where it stopped. Give each of several transfers that run at the same time a handle of its
/// own.
///
/// Uploads count content bytes as S3 acknowledges them: a multipart upload adds a part when
/// its UploadPart succeeded, so a part the SDK sends again never counts twice; a single
/// PutObject counts when it succeeded. (For a compressed field, each part counts the content
/// bytes it was compressed from.)
///
/// Poll it ([`done`](Self::done), [`total`](Self::total), [`snapshot`](Self::snapshot)),
/// or have a callback told every `step` bytes and at the end:
///
/// ```no_run
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
///
/// use dynox_core::{Client, DynamoModel};
/// use dynox_s3::{Progress, S3Object};
///
/// #[derive(Debug, DynamoModel)]
/// #[dynamo(table = "videos")]
/// struct Video {
///     #[dynamo(hash_key)]
///     id: String,
///     #[s3(bucket = "videos")]
///     file: S3Object,
/// }
///
/// # async fn run(client: &Client) -> Result<(), Box<dyn std::error::Error>> {
/// let last = Arc::new(AtomicU64::new(0));
/// let seen = last.clone();
/// // Told at most once per 4 MiB, and once at the end.
/// let progress = Progress::with_callback(4 << 20, move |t| seen.store(t.done, Ordering::Relaxed));
///
/// let mut video = Video {
///     id: "intro".into(),
///     file: S3Object::from_path("intro.mp4").with_progress(&progress),
/// };
/// let saving = client.save(&mut video);
/// // ... meanwhile, anywhere: progress.snapshot() ...
/// saving.await?;
/// assert_eq!(progress.done(), video.file.size().unwrap());
///
/// // The stored file keeps the handle: its downloads report too, from zero again.
/// video.file.save_to(client, "copy.mp4").await?;
/// assert_eq!(progress.snapshot().fraction(), Some(1.0));
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct Progress(Arc<Inner>);

struct Inner {
    done: AtomicU64,
    /// [`UNKNOWN`] while unknown.
    total: AtomicU64,
    callback: Option<Callback>,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            done: AtomicU64::new(0),
            total: AtomicU64::new(UNKNOWN),
            callback: None,
        }
    }
}

struct Callback {
    step: u64,
    /// The `done` at or past which the next report is due.
    next_report: AtomicU64,
    /// Taken while the callback runs, so its calls never overlap and see `done` in order
    /// (taken at most once per step, never per chunk).
    call: Mutex<Box<dyn Fn(Transferred) + Send + Sync>>,
}

impl Progress {
    /// A progress to poll, with no callback.
    pub fn new() -> Self {
        Self::default()
    }

    /// A progress that also calls `callback` each time `done` reaches the next multiple of
    /// `step` bytes (once, however many multiples one acknowledged part passes), and once
    /// when a transfer succeeds; never per chunk, so a transfer of `n` bytes calls it at
    /// most `n / step + 1` times. A `step` of 0 is taken as 1. Calls never overlap, and
    /// within a transfer each sees a `done` at least that of the call before it. The callback
    /// runs on the task that moved the transfer on: keep it short (store a value, send on a
    /// channel, tick a progress bar).
    pub fn with_callback(
        step: u64,
        callback: impl Fn(Transferred) + Send + Sync + 'static,
    ) -> Self {
        let step = step.max(1);
        Progress(Arc::new(Inner {
            callback: Some(Callback {
                step,
                next_report: AtomicU64::new(step),
                call: Mutex::new(Box::new(callback)),
            }),
            ..Inner::default()
        }))
    }

    /// Bytes transferred so far (never above [`total`](Self::total) once it is known).
    pub fn done(&self) -> u64 {
        self.snapshot().done
    }

    /// The size of the transfer, when known.
    pub fn total(&self) -> Option<u64> {
        self.snapshot().total
    }

    /// `done` and `total` together.
    pub fn snapshot(&self) -> Transferred {
        let done = self.0.done.load(Ordering::Relaxed);
        match self.0.total.load(Ordering::Relaxed) {
            UNKNOWN => Transferred { done, total: None },
            // A reader that declared fewer bytes than it had: the total is corrected at the
            // end; until then `done` stops at it.
            total => Transferred {
                done: done.min(total),
                total: Some(total),
            },
        }
    }

    /// Starts a transfer of `total` bytes (if known): `done` back to zero.
    pub(crate) fn start(&self, total: Option<u64>) {
        let inner = &*self.0;
        inner.done.store(0, Ordering::Relaxed);
        let total = total.map_or(UNKNOWN, |total| total.min(UNKNOWN - 1));
        inner.total.store(total, Ordering::Relaxed);
        if let Some(callback) = &inner.callback {
            callback.next_report.store(callback.step, Ordering::Relaxed);
        }
    }

    /// Adds `n` transferred bytes: one atomic add, and a report if a step was crossed.
    pub(crate) fn add(&self, n: u64) {
        let inner = &*self.0;
        let done = inner.done.fetch_add(n, Ordering::Relaxed).saturating_add(n);
        let Some(callback) = &inner.callback else {
            return;
        };
        let mut due = callback.next_report.load(Ordering::Relaxed);
        while done >= due {
            let next = (done / callback.step)
                .saturating_add(1)
                .saturating_mul(callback.step);
            match callback.next_report.compare_exchange_weak(
                due,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return self.report(callback),
                Err(current) => due = current,
            }
        }
    }

    /// Ends a transfer that succeeded with `size` bytes: `done` is `size`, and so is a known
    /// total (a reader may have declared another length); the callback hears it.
    pub(crate) fn finish(&self, size: u64) {
        let inner = &*self.0;
        if inner.total.load(Ordering::Relaxed) != UNKNOWN {
            inner.total.store(size.min(UNKNOWN - 1), Ordering::Relaxed);
        }
        inner.done.fetch_max(size, Ordering::Relaxed);
        if let Some(callback) = &inner.callback {
            self.report(callback);
        }
    }

    fn report(&self, callback: &Callback) {
        // A callback that panicked once still gets the next reports.
        let call = callback
            .call
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        call(self.snapshot());
    }
}

/// Adds `n` bytes to `progress`, if there is one.
pub(crate) fn add(progress: Option<&Progress>, n: u64) {
    if let Some(progress) = progress {
        progress.add(n);
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Transferred { done, total } = self.snapshot();
        f.debug_struct("Progress")
            .field("done", &done)
            .field("total", &total)
            .field("callback", &self.0.callback.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    fn counting(step: u64) -> (Progress, Arc<Mutex<Vec<Transferred>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let progress = Progress::with_callback(step, move |t| log.lock().unwrap().push(t));
        (progress, seen)
    }

    #[test]
    fn a_callback_hears_each_step_crossed_once_and_the_end() {
        let (progress, seen) = counting(10);
        progress.start(Some(35));
        for _ in 0..7 {
            progress.add(5);
        }
        progress.finish(35);
        let done: Vec<u64> = seen.lock().unwrap().iter().map(|t| t.done).collect();
        assert_eq!(done, [10, 20, 30, 35]);
        assert_eq!(
            progress.snapshot(),
            Transferred {
                done: 35,
                total: Some(35)
            }
        );
        // One add past several steps reports once.
        progress.start(Some(100));
        seen.lock().unwrap().clear();
        progress.add(95);
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[test]
    fn concurrent_adds_report_at_most_once_per_step_in_order() {
        let calls = Arc::new(AtomicUsize::new(0));
        let last = Arc::new(AtomicU64::new(0));
        let (c, l) = (calls.clone(), last.clone());
        let progress = Progress::with_callback(1000, move |t| {
            c.fetch_add(1, Ordering::Relaxed);
            assert!(t.done >= l.swap(t.done, Ordering::Relaxed), "went back");
        });
        progress.start(Some(400_000));
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        progress.add(100);
                    }
                });
            }
        });
        progress.finish(400_000);
        assert_eq!(progress.done(), 400_000);
        assert!(calls.load(Ordering::Relaxed) <= 401);
        assert_eq!(last.load(Ordering::Relaxed), 400_000);
    }

    #[test]
    fn an_unknown_total_stays_unknown_and_a_wrong_one_is_corrected() {
        let progress = Progress::new();
        progress.start(None);
        progress.add(7);
        progress.finish(7);
        assert_eq!(progress.total(), None);
        assert_eq!(progress.done(), 7);
        assert_eq!(progress.snapshot().fraction(), None);
        progress.start(Some(5));
        progress.add(7);
        assert_eq!(progress.done(), 5, "never above the total");
        progress.finish(7);
        assert_eq!(progress.snapshot().fraction(), Some(1.0));
        let zero = Progress::with_callback(0, |_| {});
        zero.start(Some(0));
        zero.finish(0);
        assert_eq!(zero.snapshot().fraction(), Some(1.0));
    }
}

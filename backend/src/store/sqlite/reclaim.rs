//! Frees what the writer is done with on a thread of its own.
//!
//! A decoded request is tens of thousands of small allocations (names,
//! attribute keys and values). The writer is the one thread every write
//! goes through, so freeing a committed batch there adds to every
//! sender's wait; handed over here, it happens beside the next commit.
//! The hand-over never blocks: if the reclaimer falls behind, the writer
//! frees the batch itself.

use std::sync::mpsc::{Receiver, SyncSender};

/// Anything the writer has finished with.
type Garbage = Box<dyn Send>;

/// Batches waiting to be freed before the writer frees its own again.
const BACKLOG: usize = 64;

/// The writer's side of the reclaimer thread.
pub struct Reclaimer {
    tx: Option<SyncSender<Garbage>>,
}

impl Reclaimer {
    /// Starts the reclaimer thread; it ends once this handle is dropped.
    /// Without a thread (it could not be started), [`Reclaimer::give`]
    /// frees in place.
    pub fn spawn() -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Garbage>(BACKLOG);
        let started = std::thread::Builder::new()
            .name("sightline-reclaim".into())
            .spawn(move || drain(rx));
        match started {
            Ok(_) => Self { tx: Some(tx) },
            Err(e) => {
                tracing::warn!(error = %e, "no reclaimer thread; the writer frees batches itself");
                Self { tx: None }
            }
        }
    }

    /// A reclaimer that frees in place (tests, tools).
    pub fn inline() -> Self {
        Self { tx: None }
    }

    /// Frees `garbage` on the reclaimer thread, or here if it is busy.
    pub fn give<T: Send + 'static>(&self, garbage: T) {
        if let Some(tx) = &self.tx {
            // A full or closed channel hands the box back; it drops here.
            let _ = tx.try_send(Box::new(garbage));
        }
    }
}

fn drain(rx: Receiver<Garbage>) {
    for garbage in rx {
        drop(garbage);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn garbage_is_freed_on_either_path() {
        for reclaimer in [Reclaimer::spawn(), Reclaimer::inline()] {
            let witness = Arc::new(());
            reclaimer.give(vec![witness.clone(); 3]);
            drop(reclaimer);
            // The thread drains what was queued before it ends; poll briefly.
            for _ in 0..200 {
                if Arc::strong_count(&witness) == 1 {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            assert_eq!(Arc::strong_count(&witness), 1);
        }
    }
}

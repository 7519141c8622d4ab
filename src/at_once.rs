//! A few independent jobs at a time, results in the jobs' order: wheels
//! hashed and planned, deps layers written.
//!
//! Deps layers are written two at a time: the compressor pool
//! (`layer::compress`) is shared, so one layer's tail (its last chunks, one
//! core idle) and a small layer's single chunk are overlapped by the next
//! layer's chunks, without a second set of compressors or their memory.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// How many layers are produced at once. Each producer inflates, tars and
/// hashes on its own thread while the shared pool compresses; two keep the
/// pool fed on the two cores measured here, and more would only add
/// buffers.
pub const LAYERS_AT_ONCE: usize = 2;

/// One job per core, for work that is all CPU.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `f` over `jobs` on up to `threads` threads. Results come back in
/// job order; after the first error no further job is started, and the
/// first error in job order is returned.
pub fn map<T: Send, R: Send, E: Send>(
    jobs: Vec<T>,
    threads: usize,
    f: impl Fn(T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E> {
    let n = jobs.len();
    let queue = Mutex::new(jobs.into_iter().enumerate());
    let results: Mutex<Vec<Option<Result<R, E>>>> = Mutex::new((0..n).map(|_| None).collect());
    let failed = AtomicBool::new(false);
    let work = || loop {
        if failed.load(Ordering::Relaxed) {
            return;
        }
        let Some((i, job)) = queue.lock().unwrap_or_else(|e| e.into_inner()).next() else {
            return;
        };
        let r = f(job);
        if r.is_err() {
            failed.store(true, Ordering::Relaxed);
        }
        results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
    };
    std::thread::scope(|s| {
        for _ in 1..threads.min(n) {
            s.spawn(work);
        }
        work();
    });
    let mut out = Vec::with_capacity(n);
    for r in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
        match r {
            Some(Ok(r)) => out.push(r),
            Some(Err(e)) => return Err(e),
            // Never started: jobs are taken in order, so the failure that
            // stopped them came earlier and was returned above.
            None => continue,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_in_job_order_whatever_finishes_first() {
        let jobs: Vec<u64> = (0..20).collect();
        let out = map(jobs, 3, |j| {
            std::thread::sleep(std::time::Duration::from_millis((20 - j) * 2));
            Ok::<_, ()>(j * 10)
        })
        .unwrap();
        assert_eq!(out, (0..20).map(|j| j * 10).collect::<Vec<_>>());
    }

    #[test]
    fn the_first_error_in_job_order_wins_and_later_jobs_do_not_start() {
        let started = Mutex::new(Vec::new());
        let err = map((0..50).collect(), 2, |j: u32| {
            started.lock().unwrap().push(j);
            if j == 3 || j == 4 {
                Err(format!("job {j}"))
            } else {
                Ok(j)
            }
        })
        .unwrap_err();
        assert_eq!(err, "job 3");
        assert!(started.lock().unwrap().len() < 50);
    }

    #[test]
    fn no_jobs_no_threads() {
        let out: Vec<u8> = map(Vec::<u8>::new(), 4, Ok::<_, ()>).unwrap();
        assert!(out.is_empty());
    }
}

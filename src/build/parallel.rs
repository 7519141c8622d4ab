//! Writing several layers at once.

/// Runs `write` over `jobs`, two at a time, and returns the results in
/// `jobs`' order. A layer's pipeline drains at its end (its last chunks
/// compress on fewer cores than there are, then the file is closed), and a
/// second layer's producer fills that gap; more at once would only add
/// memory (each pipeline holds a few 4 MiB chunks per core).
pub(super) fn two_at_a_time<J: Send, R: Send>(
    jobs: Vec<J>,
    write: impl Fn(J) -> R + Sync,
) -> Vec<R> {
    let total = jobs.len();
    let queue = std::sync::Mutex::new(jobs.into_iter().enumerate());
    let done = std::sync::Mutex::new(Vec::with_capacity(total));
    std::thread::scope(|s| {
        for _ in 0..2.min(total) {
            s.spawn(|| loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                let Some((i, job)) = next else { break };
                let r = write(job);
                done.lock().unwrap_or_else(|e| e.into_inner()).push((i, r));
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn results_keep_the_jobs_order_and_two_run_at_once() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let jobs: Vec<u64> = vec![30, 1, 20, 1, 1, 10];
        let out = super::two_at_a_time(jobs.clone(), |ms| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(ms));
            running.fetch_sub(1, Ordering::SeqCst);
            ms * 2
        });
        assert_eq!(out, jobs.iter().map(|m| m * 2).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), 2);
        assert!(super::two_at_a_time(Vec::<u8>::new(), |j| j).is_empty());
    }
}

//! The example's five top-level requirements, resolved against the real
//! METADATA of its wheels (testdata/example.txt, read from the wheels the
//! fixtures download) through a fake index that answers each call after
//! 20 ms: the walk ahead of the solver must turn ~80 calls into a few
//! waves.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::fake::Fake;
use super::*;

const EXAMPLE: &str = include_str!("../testdata/example.txt");

fn example_index(latency: Duration) -> (Fake, Vec<String>) {
    let mut f = Fake::default();
    let mut expected = Vec::new();
    for line in EXAMPLE.lines().filter(|l| !l.starts_with('#')) {
        let mut fields = line.split('\t');
        let file = fields.next().unwrap();
        let python = fields.next().filter(|p| !p.is_empty());
        let deps: Vec<&str> = fields.collect();
        let wheel: crate::wheel::WheelFilename = file.parse().unwrap();
        expected.push((wheel.normalized_name(), wheel.version));
        f.add_with_python(file, python, &deps);
    }
    expected.sort();
    f.latency = latency;
    let expected = expected
        .into_iter()
        .map(|(n, v)| format!("{n}=={v}"))
        .collect();
    (f, expected)
}

#[test]
fn example_resolves_in_a_few_round_trip_waves() {
    let latency = Duration::from_millis(20);
    let (f, expected) = example_index(latency);
    let req = request(&["numpy", "pandas", "scikit-learn", "joblib", "streamlit"]);
    let start = Instant::now();
    let got = run(&f, &req, "amd64").unwrap();
    let elapsed = start.elapsed();
    assert_eq!(got, expected);
    let calls = f.calls.load(Ordering::SeqCst);
    // One listing and one METADATA per package, nothing asked twice.
    assert_eq!(calls, 2 * expected.len(), "calls");
    let serial = latency * calls as u32;
    eprintln!(
        "example: {} packages, {calls} calls of 20 ms, {elapsed:?} (serial would be {serial:?})",
        expected.len()
    );
    assert!(
        elapsed < serial / 4,
        "{elapsed:?} is not a few waves of {latency:?} (serial {serial:?})"
    );
}

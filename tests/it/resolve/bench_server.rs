//! The local index that `benches/resolve.sh` resolves against: the same
//! fixture and the same server forms as the parity tests, so the bench
//! measures what the tests check.

use std::collections::BTreeMap;
use std::io::Write;

use super::{fixture_wheels, serve, Form};

#[test]
#[ignore = "not a test: the index server benches/resolve.sh starts (and kills)"]
fn bench_index_server() {
    let form = match std::env::var("PYKO_BENCH_INDEX_FORM").as_deref() {
        Ok("json+658") | Err(_) => Form::Json,
        Ok("html+range") => Form::HtmlRange,
        Ok("html") => Form::HtmlNoRange,
        Ok(other) => panic!("PYKO_BENCH_INDEX_FORM={other}: json+658, html+range or html"),
    };
    let index = serve(form, &fixture_wheels(), &BTreeMap::new());
    let mut out = std::io::stdout();
    writeln!(out, "PYKO_BENCH_INDEX_URL={}", index.url).unwrap();
    out.flush().unwrap();
    loop {
        std::thread::park();
    }
}

//! Acceptance 1: for every requirement set × platform × Python, `pyko lock`
//! gives the same name==version set as `uv pip compile` run now against the
//! same local index, in each of the three forms the index takes.

use std::collections::BTreeMap;
use std::time::Instant;

use super::{diff, fixture, fixture_wheels, parse_pins, pyko_lock, serve, sets, uv_compile};
use super::{form_name, Form, ARCHES};

/// One row of the table: what was compared and how it went.
struct Row {
    case: String,
    packages: usize,
    seconds: f64,
    problems: Vec<String>,
}

fn print_table(title: &str, rows: &[Row]) -> usize {
    eprintln!("\n{title}");
    eprintln!(
        "{:<44} {:>5} {:>7}  result",
        "set / platform / python", "pkgs", "pyko s"
    );
    let mut failed = 0;
    for r in rows {
        let result = if r.problems.is_empty() {
            "ok".to_string()
        } else {
            failed += 1;
            format!("DIFFERS\n      {}", r.problems.join("\n      "))
        };
        eprintln!(
            "{:<44} {:>5} {:>7.2}  {result}",
            r.case, r.packages, r.seconds
        );
    }
    eprintln!("{} passed, {failed} failed", rows.len() - failed);
    failed
}

fn parity(form: Form) {
    let index = serve(form, &fixture_wheels(), &BTreeMap::new());
    let tmp = tempfile::tempdir().unwrap();
    // One cache per tool for the whole table: each set is cold for what
    // it shares with no earlier set (and the disk holds one copy).
    let (uv_cache, pyko_cache) = (tmp.path().join("uv-cache"), tmp.path().join("pyko-cache"));
    let mut rows = Vec::new();
    let mut pyko_requests: Vec<crate::common::index::Logged> = Vec::new();
    for set in sets() {
        for (uv_platform, platform) in ARCHES {
            for py in &set.pythons {
                let case = format!("{} {platform} {py}", set.name);
                let arch = uv_platform.split('-').next().unwrap();
                let frozen = std::fs::read_to_string(
                    fixture()
                        .join("pins")
                        .join(format!("{}-{arch}-{py}.txt", set.name)),
                )
                .unwrap();
                let mut problems = Vec::new();
                let uv = uv_compile(&set.path, uv_platform, py, &index.url, &[], &uv_cache)
                    .unwrap_or_else(|e| panic!("{case}: {e}"));
                // The local index is the frozen subset: uv must still give
                // the answer it gave against the full index.
                for d in diff(&parse_pins(&frozen), &uv) {
                    problems.push(format!("uv vs fixture pins: {d}"));
                }
                let work = tmp.path().join(case.replace(['/', ' '], "_"));
                std::fs::create_dir_all(&work).unwrap();
                index.clear_log();
                let start = Instant::now();
                match pyko_lock(
                    &set.path,
                    platform,
                    py,
                    &index.url,
                    &[],
                    (&work, &pyko_cache),
                ) {
                    Ok(pyko) => problems.extend(diff(&uv, &pyko)),
                    Err(e) => problems.push(e),
                }
                let seconds = start.elapsed().as_secs_f64();
                pyko_requests.extend(index.requests());
                rows.push(Row {
                    case,
                    packages: uv.len(),
                    seconds,
                    problems,
                });
            }
        }
    }
    let failed = print_table(
        &format!("pyko lock vs uv pip compile, index {}", form_name(form)),
        &rows,
    );
    assert_eq!(
        failed, 0,
        "{failed} resolutions differ from uv's (table above)"
    );
    // pyko took metadata the cheapest way this form allows.
    let gets = |status| {
        pyko_requests
            .iter()
            .filter(|r| r.is_wheel() && r.status == status)
            .count()
    };
    let metadata = pyko_requests.iter().filter(|r| r.is_metadata()).count();
    let (ranged, whole) = (gets(206), gets(200));
    eprintln!("pyko's requests: {metadata} .metadata, {ranged} ranged, {whole} whole wheels");
    let ok = match form {
        Form::Json => metadata > 0 && ranged + whole == 0,
        Form::HtmlRange => ranged > 0 && metadata + whole == 0,
        Form::HtmlNoRange => whole > 0 && metadata + ranged == 0,
    };
    assert!(
        ok,
        "{}: not the metadata path this form calls for",
        form_name(form)
    );
}

#[test]
fn parity_json_with_metadata_files() {
    parity(Form::Json);
}

#[test]
fn parity_html_with_range_requests() {
    parity(Form::HtmlRange);
}

#[test]
fn parity_html_whole_wheels() {
    parity(Form::HtmlNoRange);
}

/// `--exclude-newer` between two upload times: the CLI set's typer and
/// click releases get one day each, in version order, after everything
/// else; the cut-off falls inside both runs, so both tools must step back.
#[test]
fn exclude_newer_matches_uv() {
    let wheels = fixture_wheels();
    let mut times = BTreeMap::new();
    for project in ["typer", "click"] {
        let mut files: Vec<(Vec<u64>, String)> = wheels
            .iter()
            .map(|w| w.file_name().unwrap().to_string_lossy().into_owned())
            .filter(|f| f.starts_with(&format!("{project}-")))
            .map(|f| {
                let v = f.split('-').nth(1).unwrap();
                (v.split('.').map(|p| p.parse().unwrap_or(0)).collect(), f)
            })
            .collect();
        files.sort();
        assert!(files.len() >= 4, "{project}: {files:?}");
        for (day, (_, f)) in files.into_iter().enumerate() {
            times.insert(f, format!("2026-03-{:02}T12:00:00Z", day + 1));
        }
    }
    let cutoff = "2026-03-04T00:00:00Z";
    let index = serve(Form::Json, &wheels, &times);
    let tmp = tempfile::tempdir().unwrap();
    let set = sets().into_iter().find(|s| s.name == "cli").unwrap();
    let mut rows = Vec::new();
    for (uv_platform, platform) in ARCHES {
        let uv = uv_compile(
            &set.path,
            uv_platform,
            "3.11",
            &index.url,
            &["--exclude-newer", cutoff],
            &tmp.path().join("uv-cache"),
        )
        .unwrap();
        let newest = uv_compile(
            &set.path,
            uv_platform,
            "3.11",
            &index.url,
            &[],
            &tmp.path().join("uv-cache"),
        )
        .unwrap();
        assert_ne!(uv["typer"], newest["typer"], "the cut-off must move typer");
        let work = tmp.path().join(platform.replace('/', "_"));
        std::fs::create_dir_all(&work).unwrap();
        let start = Instant::now();
        let problems = match pyko_lock(
            &set.path,
            platform,
            "3.11",
            &index.url,
            &["--exclude-newer", cutoff],
            (&work, &tmp.path().join("pyko-cache")),
        ) {
            Ok(pyko) => diff(&uv, &pyko),
            Err(e) => vec![e],
        };
        rows.push(Row {
            case: format!("cli {platform} 3.11 --exclude-newer {cutoff}"),
            packages: uv.len(),
            seconds: start.elapsed().as_secs_f64(),
            problems,
        });
    }
    let failed = print_table("--exclude-newer, index json", &rows);
    assert_eq!(failed, 0, "pyko and uv disagree under --exclude-newer");
}

mod fake;
mod speed;

use std::str::FromStr;

use fake::Fake;

use super::*;
use crate::target::PythonTarget;

fn tags(arch: &str) -> Tags {
    Tags::for_target(&PythonTarget::test_cpython311(arch)).unwrap()
}

fn user(reqs: &[&str]) -> Vec<UserRequirement> {
    reqs.iter()
        .enumerate()
        .map(|(i, r)| UserRequirement {
            requirement: Requirement::from_str(r).unwrap(),
            origin: format!("requirements.txt:{}", i + 1),
        })
        .collect()
}

fn request(reqs: &[&str]) -> Request {
    Request {
        requirements: user(reqs),
        ..Request::default()
    }
}

fn run(fake: &Fake, request: &Request, arch: &str) -> Result<Vec<String>, ResolveError> {
    let resolved = resolve(request, &tags(arch), fake)?;
    Ok(resolved
        .iter()
        .map(|r| format!("{}=={}", r.name, r.version))
        .collect())
}

fn ok(fake: &Fake, reqs: &[&str]) -> Vec<String> {
    run(fake, &request(reqs), "amd64").unwrap_or_else(|e| panic!("{}", crate::error::chain(&e)))
}

fn no_solution(fake: &Fake, request: &Request) -> String {
    match run(fake, request, "amd64") {
        Err(ResolveError::NoSolution { explanation, .. }) => explanation,
        other => panic!("expected no solution, got {other:?}"),
    }
}

#[test]
fn simple_tree_takes_the_newest_of_each() {
    let mut f = Fake::default();
    f.add("app-1.0", &["lib>=1", "Other_Lib"]);
    f.add("app-2.0", &["lib>=2", "other-lib<3"]);
    f.add("lib-1.0", &[]);
    f.add("lib-2.5", &["leaf"]);
    f.add("other_lib-2.0", &[]);
    f.add("other_lib-3.0", &[]);
    f.add("leaf-0.1", &[]);
    assert_eq!(
        ok(&f, &["app"]),
        ["app==2.0", "leaf==0.1", "lib==2.5", "other-lib==2.0"]
    );
    let resolved = resolve(&request(&["app"]), &tags("amd64"), &f).unwrap();
    assert!(resolved[0].requested);
    assert!(!resolved[1].requested);
    assert_eq!(resolved[2].wheel.filename, "lib-2.5-py3-none-any.whl");
}

#[test]
fn extras_add_their_requirements_at_the_same_version() {
    let mut f = Fake::default();
    f.add("web-1.0", &["core", "fast; extra == 'speed'"]);
    f.add(
        "web-2.0",
        &[
            "core",
            "fast>=2; extra == 'speed'",
            "slow; extra == 'other'",
        ],
    );
    f.add("core-1.0", &[]);
    f.add("fast-1.0", &[]);
    f.add("fast-2.0", &["core[tls]"]);
    f.add("core-1.1", &["certs; extra == 'tls'"]);
    f.add("certs-9", &[]);
    f.add("slow-1.0", &[]);
    assert_eq!(ok(&f, &["web"]), ["core==1.1", "web==2.0"]);
    assert_eq!(
        ok(&f, &["web[speed]"]),
        ["certs==9", "core==1.1", "fast==2.0", "web==2.0"]
    );
    // The extra pins its base: web[speed]<2 with web>=2 cannot hold.
    let text = no_solution(&f, &request(&["web[speed]<2", "web>=2"]));
    assert!(text.contains("web"), "{text}");
}

#[test]
fn markers_are_evaluated_for_the_target() {
    let mut f = Fake::default();
    f.add(
        "app-1.0",
        &[
            "armonly; platform_machine == 'aarch64'",
            "x86only; platform_machine == 'x86_64'",
            "old; python_version < '3.11'",
            "new; python_version >= '3.11'",
            "win; sys_platform == 'win32'",
        ],
    );
    for n in ["armonly-1", "x86only-1", "old-1", "new-1", "win-1"] {
        f.add(n, &[]);
    }
    let req = request(&["app", "skipped; python_version < '3'"]);
    assert_eq!(
        run(&f, &req, "amd64").unwrap(),
        ["app==1.0", "new==1", "x86only==1"]
    );
    assert_eq!(
        run(&f, &req, "arm64").unwrap(),
        ["app==1.0", "armonly==1", "new==1"]
    );
}

#[test]
fn backtracks_to_an_older_version() {
    let mut f = Fake::default();
    f.add("a-1.0", &["b"]);
    f.add("a-2.0", &["b<2"]);
    f.add("b-1.0", &[]);
    f.add("b-2.0", &[]);
    f.add("c-1.0", &["b>=2"]);
    assert_eq!(ok(&f, &["a", "c"]), ["a==1.0", "b==2.0", "c==1.0"]);
}

#[test]
fn a_conflict_is_explained_in_sentences() {
    let mut f = Fake::default();
    f.add("x-1.0", &["y<1"]);
    f.add("x-2.0", &["y<1"]);
    f.add("y-0.5", &[]);
    f.add("y-1.5", &[]);
    let text = no_solution(&f, &request(&["x>=1", "y>=1"]));
    insta::assert_snapshot!(text, @r"
    Because x>=1.0 depends on y<1 and you require x>=1, you require y<1.
    And because you require y>=1, your requirements cannot be satisfied.
    ");
}

#[test]
fn yanked_files_count_only_when_pinned() {
    let mut f = Fake::default();
    f.add("lib-1.0", &[]);
    f.add("lib-1.1", &[]).yanked = true;
    f.add("app-1.0", &["lib==1.1"]);
    assert_eq!(ok(&f, &["lib"]), ["lib==1.0"]);
    assert_eq!(ok(&f, &["lib==1.1"]), ["lib==1.1"]);
    // A pin in a dependency is not the user's: the yanked file stays out.
    let text = no_solution(&f, &request(&["app"]));
    assert!(text.contains("lib==1.1"), "{text}");
    assert!(text.contains("yanked"), "{text}");
}

#[test]
fn pre_releases_only_when_named_necessary_or_asked() {
    let mut f = Fake::default();
    f.add("lib-1.0", &[]);
    f.add("lib-2.0b1", &[]);
    f.add("beta-0.1a1", &[]);
    f.add("beta-0.1a2", &[]);
    f.add("app-1.0", &["lib>=1.5"]);
    assert_eq!(ok(&f, &["lib"]), ["lib==1.0"]);
    assert_eq!(ok(&f, &["lib>=2.0b1"]), ["lib==2.0b1"]);
    // Only pre-releases exist: the newest is taken.
    assert_eq!(ok(&f, &["beta"]), ["beta==0.1a2"]);
    // Necessary: no stable version is in range.
    assert_eq!(ok(&f, &["app"]), ["app==1.0", "lib==2.0b1"]);
    let mut req = request(&["lib"]);
    req.options.pre = true;
    assert_eq!(run(&f, &req, "amd64").unwrap(), ["lib==2.0b1"]);
}

#[test]
fn exclude_newer_hides_later_uploads() {
    let mut f = Fake::default();
    f.add("lib-1.0", &[]).upload_time = Some(100);
    f.add("lib-2.0", &[]).upload_time = Some(200);
    f.add("lib-3.0", &[]).upload_time = None;
    let mut req = request(&["lib"]);
    assert_eq!(run(&f, &req, "amd64").unwrap(), ["lib==3.0"]);
    req.options.exclude_newer = Some(150);
    assert_eq!(run(&f, &req, "amd64").unwrap(), ["lib==1.0"]);
    req.options.exclude_newer = Some(200);
    assert_eq!(run(&f, &req, "amd64").unwrap(), ["lib==2.0"]);
}

#[test]
fn requires_python_of_the_index_and_of_metadata_rule_versions_out() {
    let mut f = Fake::default();
    f.add("lib-1.0", &[]).requires_python = Some(">=3.8".into());
    f.add("lib-2.0", &[]).requires_python = Some(">=3.12".into());
    f.add("lib-1.5", &[]).requires_python = Some("not a specifier".into());
    assert_eq!(ok(&f, &["lib"]), ["lib==1.5"]);
    let mut f = Fake::default();
    f.add_with_python("lib-1.0", Some(">=3.7"), &[]);
    f.add_with_python("lib-2.0", Some(">=3.12"), &[]);
    assert_eq!(ok(&f, &["lib"]), ["lib==1.0"]);
    let text = no_solution(&f, &request(&["lib>=2"]));
    assert!(text.contains("lib==2.0 requires Python >=3.12"), "{text}");
}

#[test]
fn only_versions_with_a_wheel_for_the_target_count() {
    let mut f = Fake::default();
    f.add("native-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", &[]);
    f.add("native-1.0-cp311-cp311-manylinux_2_17_aarch64.whl", &[]);
    f.add("native-2.0-cp311-cp311-manylinux_2_17_aarch64.whl", &[]);
    f.add("native-2.0.tar.gz", &[]);
    f.add("native-3.0.tar.gz", &[]);
    assert_eq!(ok(&f, &["native"]), ["native==1.0"]);
    assert_eq!(
        run(&f, &request(&["native"]), "arm64").unwrap(),
        ["native==2.0"]
    );
    let resolved = resolve(&request(&["native"]), &tags("arm64"), &f).unwrap();
    assert_eq!(resolved[0].files.len(), 2, "the lock lists the sdist too");
    let text = no_solution(&f, &request(&["native>=2"]));
    insta::assert_snapshot!(text, @r"
    Because there is no usable version of native>=2 and you require native>=2, your requirements cannot be satisfied.

    native has no wheel for the target (cp311-cp311-manylinux_2_36_x86_64); 2.0 has wheels only for cp311-cp311-manylinux_2_17_aarch64, 3.0 is an sdist only, and --no-build forbids building it
    ");
    let mut f = Fake::default();
    f.add("cext-1.0.tar.gz", &[]);
    f.add("app-1.0", &["cext"]);
    let text = no_solution(&f, &request(&["app"]));
    assert!(
        text.contains("cext has no wheel for the target (cp311-cp311-manylinux_2_36_x86_64); 1.0 is an sdist only"),
        "{text}"
    );
    let mut f = Fake::default();
    f.add("mac-1.0-cp311-cp311-macosx_14_0_arm64.whl", &[]);
    let text = no_solution(&f, &request(&["mac"]));
    assert!(
        text.contains("mac has no wheel for the target (cp311-cp311-manylinux_2_36_x86_64); 1.0 has wheels only for cp311-cp311-macosx_14_0_arm64"),
        "{text}"
    );
}

#[test]
fn constraints_bound_versions_but_add_nothing() {
    let mut f = Fake::default();
    f.add("app-1.0", &["lib"]);
    f.add("lib-1.0", &[]);
    f.add("lib-2.0", &[]);
    f.add("unused-1.0", &[]);
    let mut req = request(&["app"]);
    req.constraints = user(&["lib<2", "unused==1.0", "app; python_version < '3'"]);
    assert_eq!(run(&f, &req, "amd64").unwrap(), ["app==1.0", "lib==1.0"]);
    req.constraints = user(&["lib>5"]);
    let text = match run(&f, &req, "amd64") {
        Err(ResolveError::NoSolution { explanation, .. }) => explanation,
        other => panic!("{other:?}"),
    };
    assert!(text.contains("lib>5"), "{text}");
}

#[test]
fn a_misspelt_project_names_its_line() {
    let mut f = Fake::default();
    f.add("numpy-2.0", &[]);
    f.add("app-1.0", &["missing-dep"]);
    let e = run(&f, &request(&["numpy", "nunpy>=1"]), "amd64").unwrap_err();
    assert_eq!(
        crate::error::chain(&e),
        "requirements.txt:2: nunpy: no index has a project of that name (http://fake.test/simple/); check the spelling"
    );
    let text = no_solution(&f, &request(&["app"]));
    assert!(
        text.contains("missing-dep: no index has a project of that name"),
        "{text}"
    );
}

#[test]
fn local_versions_and_pins_match_as_pep_440_says() {
    let mut f = Fake::default();
    f.add("torch-2.0+cpu", &[]);
    f.add("torch-2.0.1", &[]);
    assert_eq!(ok(&f, &["torch==2.0"]), ["torch==2.0+cpu"]);
    assert_eq!(ok(&f, &["torch!=2.0"]), ["torch==2.0.1"]);
    assert_eq!(ok(&f, &["torch~=2.0.0"]), ["torch==2.0.1"]);
}

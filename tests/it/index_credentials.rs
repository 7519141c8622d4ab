//! Index credentials (issue 17, hole 3): `user:pass@` in an index URL is
//! basic auth for that origin's pages and files only, and no message or
//! log shows the password.

use pyko::{Cache, IndexClient, MetadataClient};

use crate::common::fixtures::{self, Flavour, BASE_TAG};
use crate::common::index::{Form, IndexOptions, IndexServer};
use crate::common::run::pyko;
use crate::metadata::{new_http, wheels};

/// Hole 3: `user:pass@` in an index URL reaches that origin's pages and
/// files as basic auth, no other host, and never a message.
#[test]
fn index_credentials_go_to_the_same_origin_only_and_are_never_shown() {
    let wheels = wheels();
    let mut opts = IndexOptions::new(Form::HtmlRange);
    opts.basic_auth = Some(("alice".into(), "s3cret-pw".into()));
    let private = IndexServer::start_with(&wheels, &opts);
    let public = IndexServer::start_with(&wheels, &IndexOptions::new(Form::HtmlNoRange));
    let public_url = public.url.replace("127.0.0.1", "localhost");
    let http = new_http();
    let (cache, _g) = Cache::ephemeral().unwrap();
    let client = MetadataClient::new(&http, &cache);

    let index = IndexClient::new(
        &[
            private.url_with_credentials("alice", "s3cret-pw"),
            public_url,
        ],
        &http,
    )
    .unwrap();
    for u in index.urls() {
        assert!(!u.as_str().contains("s3cret"), "{u}");
    }
    let files = index.files("click").unwrap();
    assert_eq!(files.len(), 2);
    for f in &files {
        assert!(!f.url.as_str().contains("s3cret"), "{}", f.url);
        client.get(f).unwrap_or_else(|e| panic!("{}: {e}", f.url));
    }
    let reqs = private.requests();
    assert!(reqs.iter().any(|r| r.is_wheel()), "{:#?}", private.log());
    assert!(
        reqs.iter().all(|r| r.authorized && r.status != 401),
        "{:#?}",
        private.log()
    );
    assert!(
        public.requests().iter().all(|r| !r.authorized),
        "another host got the credentials: {:#?}",
        public.log()
    );

    // A wrong password: 401, said with the user and without the password.
    let index = IndexClient::new(
        &[private.url_with_credentials("alice", "wrong-pw")],
        &new_http(),
    )
    .unwrap();
    let e = index.files("click").unwrap_err().to_string();
    assert!(
        e.contains("alice:****@")
            && e.contains("401")
            && e.contains("credentials")
            && !e.contains("wrong-pw"),
        "{e}"
    );
}

fn build_args<'a>(base: &'a str, req: &'a str, index_url: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "build",
        "--from",
        base,
        "--requirements",
        req,
        "--index-url",
        index_url,
        "--app",
        "EXAMPLE",
        "--cmd",
        "true",
        "--oci-layout",
        out,
    ]
}

/// The same through the binary: a build from a password-protected index
/// works, and neither it nor a failing one prints the password.
#[test]
fn builds_from_a_password_protected_index_never_print_the_password() {
    let wheels = wheels();
    let mut opts = IndexOptions::new(Form::HtmlRange);
    opts.basic_auth = Some(("ci".into(), "pw-9f3a1c".into()));
    let server = IndexServer::start_with(&wheels, &opts);
    let base = format!(
        "oci-layout:{}:{BASE_TAG}",
        fixtures::base_layout(Flavour::Slim).display()
    );
    let app = fixtures::example_app();
    let req = app.join("requirements.txt");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let url = server.url_with_credentials("ci", "pw-9f3a1c");
    let args: Vec<&str> = build_args(&base, req.to_str().unwrap(), &url, out.to_str().unwrap())
        .into_iter()
        .map(|a| {
            if a == "EXAMPLE" {
                app.to_str().unwrap()
            } else {
                a
            }
        })
        .collect();
    let run = pyko(&args, &dir.path().join("cache"));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(!stderr.contains("pw-9f3a1c"), "{stderr}");
    assert!(out.join("index.json").is_file());
    let reqs = server.requests();
    assert_eq!(
        reqs.iter()
            .filter(|r| r.is_wheel() && r.status == 200)
            .count(),
        39,
        "every wheel downloaded with the index's credentials: {:#?}",
        server.log()
    );
    assert!(reqs.iter().all(|r| r.authorized), "{:#?}", server.log());

    // Nothing listens there: the error names the index, not the password.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://ci:pw-9f3a1c@127.0.0.1:{dead}/simple/");
    let out2 = dir.path().join("out2");
    let args: Vec<&str> = build_args(&base, req.to_str().unwrap(), &url, out2.to_str().unwrap())
        .into_iter()
        .map(|a| {
            if a == "EXAMPLE" {
                app.to_str().unwrap()
            } else {
                a
            }
        })
        .collect();
    let run = pyko(&args, &dir.path().join("cache2"));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{stderr}");
    assert!(!stderr.contains("pw-9f3a1c"), "{stderr}");
    assert!(
        stderr.contains(&format!("ci:****@127.0.0.1:{dead}")),
        "{stderr}"
    );
    assert!(!out2.exists());
}

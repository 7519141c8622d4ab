use crate::common::registry::{Registry, RegistryOptions};

#[test]
fn registry_starts_plain_basic_tls() {
    let r = Registry::start();
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("http://{}/v2/", r.host),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    let r = Registry::start_with(RegistryOptions {
        basic: Some(("u".into(), "p".into())),
        tls: true,
        ..Default::default()
    });
    let url = format!("https://{}/v2/", r.host);
    let ca = r.ca_cert();
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--cacert",
            ca.to_str().unwrap(),
            &url,
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "401");
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-u",
            "u:p",
            "--cacert",
            ca.to_str().unwrap(),
            &url,
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
}

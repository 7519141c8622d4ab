//! A real distribution (`docker-registry`) process on 127.0.0.1 for tests.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How the registry authenticates and serves.
#[derive(Default, Clone)]
pub struct RegistryOptions {
    /// `(user, password)`: htpasswd Basic auth.
    pub basic: Option<(String, String)>,
    /// Serve https with a fresh self-signed cert (see `Registry::ca_cert`).
    pub tls: bool,
    /// Raw YAML for the `auth:` section (e.g. token auth); overrides `basic`.
    pub auth_yaml: Option<String>,
    /// `http.host`: the address the registry writes into the URLs it hands
    /// out (upload `Location`s); `{port}` is replaced by its port.
    pub public_url: Option<String>,
}

pub struct Registry {
    child: Child,
    pub dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`
    pub host: String,
    pub opts: RegistryOptions,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Registry {
    pub fn start() -> Registry {
        Registry::start_with(RegistryOptions::default())
    }

    pub fn start_with(opts: RegistryOptions) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let mut tls = String::new();
        if opts.tls {
            run(Command::new("openssl").current_dir(d).args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "key.pem",
                "-out",
                "cert.pem",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ]));
            tls = format!(
                "  tls: {{certificate: {0}/cert.pem, key: {0}/key.pem}}\n",
                d.display()
            );
        }
        let mut auth = String::new();
        if let Some(yaml) = &opts.auth_yaml {
            auth = yaml.clone();
        } else if let Some((u, p)) = &opts.basic {
            let out = Command::new("htpasswd")
                .args(["-Bbn", u, p])
                .output()
                .unwrap();
            assert!(out.status.success());
            std::fs::write(d.join("htpasswd"), out.stdout).unwrap();
            auth = format!(
                "auth:\n  htpasswd: {{realm: basic-realm, path: {}/htpasswd}}\n",
                d.display()
            );
        }
        let public = opts
            .public_url
            .as_ref()
            .map(|u| format!("  host: {}\n", u.replace("{port}", &port.to_string())))
            .unwrap_or_default();
        let config = format!(
            "version: 0.1\nlog: {{level: info, accesslog: {{disabled: false}}}}\n\
             storage:\n  filesystem: {{rootdirectory: {}/data}}\n  delete: {{enabled: true}}\n\
             http:\n  addr: {host}\n{public}{tls}{auth}",
            d.display()
        );
        std::fs::write(d.join("config.yml"), config).unwrap();
        let log = std::fs::File::create(d.join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(d.join("config.yml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("docker-registry not found: apt-get install docker-registry (see .ci/run)");
        let reg = Registry {
            child,
            dir,
            host,
            opts,
        };
        reg.wait_ready();
        reg
    }

    fn wait_ready(&self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if std::net::TcpStream::connect(&self.host).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("registry did not start: {}", self.log());
    }

    /// The registry's combined log (includes the access log).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    pub fn ca_cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// `--creds` / `--tls-verify` arguments for skopeo talking to this registry.
    pub fn skopeo_args(&self) -> Vec<String> {
        let mut a = Vec::new();
        if self.opts.tls {
            let certs = self.dir.path().join("skopeo-certs");
            std::fs::create_dir_all(&certs).unwrap();
            std::fs::copy(self.ca_cert(), certs.join("ca.crt")).unwrap();
            a.push(format!("--cert-dir={}", certs.display()));
        } else {
            a.push("--tls-verify=false".into());
        }
        if let Some((u, p)) = &self.opts.basic {
            a.push(format!("--creds={u}:{p}"));
        }
        a
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

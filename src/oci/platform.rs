//! Platforms (`os/arch[/variant]`): what an index entry is for, what a base
//! image is picked by, and what this machine is.

use serde::{Deserialize, Serialize};

/// `os/arch[/variant]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// Written `architecture` first, as pyko always has: the order is part of
/// every index digest pyko ever pushed, and the field order of the struct
/// is its sort order, so the two are kept apart.
impl Serialize for Platform {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            architecture: &'a str,
            os: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            variant: Option<&'a str>,
        }
        Out {
            architecture: &self.architecture,
            os: &self.os,
            variant: self.variant.as_deref(),
        }
        .serialize(s)
    }
}

/// The build machine's architecture in OCI's spelling: the one image of a
/// multi-platform tarball that `docker load` (which keeps one per tag) gets.
pub fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "loongarch64" => "loong64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_architecture_first_and_reads_any_order() {
        let p: Platform = serde_json::from_str(
            r#"{"os":"linux","variant":"v8","architecture":"arm64","os.version":"x"}"#,
        )
        .unwrap();
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"architecture":"arm64","os":"linux","variant":"v8"}"#
        );
        let p = Platform { variant: None, ..p };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"architecture":"arm64","os":"linux"}"#
        );
    }
}

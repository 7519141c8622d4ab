//! Which platforms a build makes: those asked for, or with `--platform all`
//! every platform of the base; and which failures `all` may skip (the
//! wheels cannot serve a platform) rather than fail on.

use super::BuildError;
use crate::cache::Cache;
use crate::inputs::spec::{BaseSource, BuildSpec};
use crate::oci::{IndexJson, Platform};
use crate::registry::Client;
use crate::ui::Reporter;

pub(super) fn wanted(
    spec: &BuildSpec,
    client: &Client,
    cache: &Cache,
    ui: &Reporter,
) -> Result<Vec<Platform>, BuildError> {
    if !spec.all_platforms {
        return Ok(spec.platforms.clone());
    }
    let p = of_base(spec, client, cache)?;
    let names: Vec<String> = p.iter().map(ToString::to_string).collect();
    ui.info(format!("--platform all: the base has {}", names.join(", ")));
    Ok(p)
}

/// Errors that mean "the wheel set cannot serve this platform" (no wheel
/// built for it, or an incomplete set), as opposed to a broken input that
/// must fail the whole build.
pub(super) fn wheels_missing(e: &BuildError) -> bool {
    use crate::sources::LockError;
    use crate::wheel::WheelError;
    let wheel = |w: &WheelError| {
        matches!(
            w,
            WheelError::Incompatible(_)
                | WheelError::Unmet { .. }
                | WheelError::UnsupportedPlatform { .. }
        )
    };
    match e {
        BuildError::Wheel(w) => wheel(w),
        BuildError::Lock(LockError::Wheel(w)) => wheel(w),
        BuildError::Lock(LockError::Package { .. }) => true,
        _ => false,
    }
}

/// Every entry of the base's index (attestations skipped), or a
/// single-manifest base's own platform.
fn of_base(spec: &BuildSpec, client: &Client, cache: &Cache) -> Result<Vec<Platform>, BuildError> {
    let fallback = crate::base::default_platform();
    let single = match &spec.base {
        BaseSource::Registry(r) => {
            let top = client.get_manifest(r)?;
            if top.is_index() {
                let index: IndexJson = serde_json::from_slice(&top.bytes).map_err(|e| {
                    crate::base::BaseError::Malformed {
                        reference: r.to_string(),
                        what: "index",
                        digest: top.digest.clone(),
                        detail: e.to_string(),
                    }
                })?;
                let mut out: Vec<Platform> = Vec::new();
                for p in index.manifests.into_iter().filter_map(|d| d.platform) {
                    if p.os != "unknown" && !out.contains(&p) {
                        out.push(p);
                    }
                }
                return Ok(out);
            }
            crate::base::resolve(client, r, &fallback, cache)?
        }
        BaseSource::Disk(d) => crate::base::disk::resolve(d, &fallback, cache)?,
    };
    Ok(vec![single.image.platform()])
}

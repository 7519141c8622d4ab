//! `created`, `rootfs.diff_ids` and `history`: the fields that record which
//! layers the image has and how each came to be.

use serde_json::{json, Map, Value};

use super::{array, object, ConfigError};
use crate::oci::Layer;

/// Appends the `added` layers (with their history `created_by`) after the
/// base's, and one empty-layer entry for the config `steps`.
pub(super) fn apply(
    top: &mut Map<String, Value>,
    created: &str,
    steps: &[String],
    added: &[(Layer, String)],
) -> Result<(), ConfigError> {
    top.insert("created".into(), json!(created));

    let base_layers = {
        let rootfs = object(top, "rootfs", "rootfs")?;
        rootfs.entry("type").or_insert_with(|| json!("layers"));
        let ids = array(rootfs, "diff_ids", "rootfs.diff_ids")?;
        let n = ids.len();
        ids.extend(added.iter().map(|(l, _)| json!(l.diff_id.as_str())));
        n
    };

    let history = array(top, "history", "history")?;
    let non_empty = history
        .iter()
        .filter(|h| {
            !h.get("empty_layer")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        })
        .count();
    // Readers pair non-empty history entries with layers; a base without
    // (complete) history would shift ours onto its layers.
    for _ in non_empty..base_layers {
        history.push(json!({
            "created": created,
            "created_by": "base layer (no history recorded)",
            "comment": "pyko",
        }));
    }
    if !steps.is_empty() {
        history.push(json!({
            "created": created,
            "created_by": steps.join("; "),
            "comment": "pyko",
            "empty_layer": true,
        }));
    }
    for (_, created_by) in added {
        history.push(json!({
            "created": created,
            "created_by": created_by,
            "comment": "pyko",
        }));
    }
    Ok(())
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::super::EPOCH;
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), EPOCH);
        assert_eq!(rfc3339(315_532_800), "1980-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}

//! `SOURCE_DATE_EPOCH`, read in this one place for every entry point.

/// `SOURCE_DATE_EPOCH` held something other than whole seconds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SOURCE_DATE_EPOCH={value:?} is not a whole number of seconds since 1970-01-01; set it to e.g. `git log -1 --format=%ct`, or unset it for the default 0")]
pub struct SourceDateEpochError {
    pub value: String,
}

/// The time every layer entry's mtime and the config's `created` are set to:
/// `SOURCE_DATE_EPOCH`, else 0 (1970-01-01). The default is 0 whatever the
/// entry point, as ko and docker's reproducible builds do, so the same inputs
/// give the same image bytes with or without the variable; unset and empty
/// are the same.
pub fn source_date_epoch() -> Result<u64, SourceDateEpochError> {
    parse(std::env::var("SOURCE_DATE_EPOCH").ok().as_deref())
}

fn parse(value: Option<&str>) -> Result<u64, SourceDateEpochError> {
    match value.map(str::trim) {
        None | Some("") => Ok(0),
        Some(v) => v.parse().map_err(|_| SourceDateEpochError {
            value: value.unwrap_or_default().to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_or_empty_is_zero_and_garbage_is_named() {
        assert_eq!(parse(None), Ok(0));
        assert_eq!(parse(Some(" ")), Ok(0));
        assert_eq!(parse(Some(" 1700000000\n")), Ok(1_700_000_000));
        let e = parse(Some("yesterday")).unwrap_err().to_string();
        assert!(e.contains("SOURCE_DATE_EPOCH=\"yesterday\""), "{e}");
        assert!(parse(Some("-1")).is_err());
    }
}

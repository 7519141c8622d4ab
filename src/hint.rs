//! The `hint:` line under an error: the next step, where one is known and
//! the message itself does not already say it.

use std::error::Error;

use crate::exit::{exit_class, ExitClass};

pub fn hint(e: &(dyn Error + 'static)) -> Option<String> {
    let text = crate::error::chain(e);
    let mut cur = Some(e);
    while let Some(c) = cur {
        if let Some(w) = c.downcast_ref::<crate::wheel::WheelError>() {
            if matches!(
                w,
                crate::wheel::WheelError::Incompatible(_)
                    | crate::wheel::WheelError::UnsupportedPlatform { .. }
            ) {
                return Some(
                    "download wheels built for the image's platform, e.g. `pip download --only-binary=:all: --platform manylinux2014_x86_64 --python-version 3.12 -d wheels -r requirements.txt`, or pass --requirements/--lock and let pyko fetch them".into(),
                );
            }
        }
        if c.is::<crate::cache::CacheError>() {
            return Some("pass --cache-dir DIR (a writable directory) or --no-cache".into());
        }
        cur = c.source();
    }
    match exit_class(e) {
        ExitClass::Network if !text.contains("pyko login") => Some(
            "run again with -vv to see every request and response (credentials redacted)".into(),
        ),
        _ => None,
    }
}

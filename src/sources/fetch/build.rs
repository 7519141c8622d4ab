//! A pin with no fitting wheel but an sdist: fetch the sdist like any file
//! (hash checked against the lock or the index), build it on the build
//! machine (or take the wheel built from these bytes before), and check
//! that the wheel fits the target.

use crate::sources::sdist::{check_fits, refused, Builder, Sdist};
use crate::sources::{LockError, LockedWheel, Pin};
use crate::wheel::Tags;

use super::verify::{sha256_file, Got, Policy};

pub(super) fn build_from(
    pin: &Pin,
    sdist: &LockedWheel,
    tags: &Tags,
    builder: &Builder,
    policy: &Policy,
) -> Result<Got, LockError> {
    if policy.build.forbid {
        // Refused before any download.
        return Err(refused(pin, &sdist.filename));
    }
    let got = super::fetch_file(pin, sdist, builder.http, builder.cache, policy)?;
    let sha256 = sha256_file(&got.path)?;
    let source = Sdist {
        filename: &sdist.filename,
        path: &got.path,
        sha256: &sha256,
    };
    let mut built = builder.wheel(pin, &source)?;
    if built.cached && check_fits(tags, pin, &built).is_err() {
        // Made earlier by another Python than the one building now (a
        // non-pure wheel is for one ABI): build it again, rather than
        // refuse what this machine may build to fit.
        built = builder.rebuilt(pin, &source)?;
    }
    check_fits(tags, pin, &built)?;
    Ok(Got {
        warning: got.warning,
        ..Got::new(
            built.filename,
            built.path,
            if built.cached {
                "built earlier from its sdist, cached"
            } else {
                "built from its sdist"
            },
        )
    })
}

//! One listed file (wheel or sdist) as verified bytes: from the blob cache
//! by its hash, a local path, or a download hashed while it streams and
//! checked against the pin and the listed sha256 before it is kept.

use std::io::Write;
use std::path::PathBuf;

use reqwest::Url;

use crate::cache::{Cache, CacheError};
use crate::error::chain;
use crate::http::HttpClient;
use crate::oci::digest::Digest;
use crate::oci::digest::HashingWriter;
use crate::sources::{Location, LockError, LockedWheel, Pin};
use crate::ui::progress::{self, Kind};

use super::verify::{check_hash, mismatch, sha256_file, unverified, where_of, Got, Policy};

fn download(
    pin: &Pin,
    url: &str,
    listed: Option<&str>,
    http: &HttpClient,
    cache: &Cache,
) -> Result<PathBuf, LockError> {
    let err = |message: String| LockError::Download {
        url: url.to_string(),
        message,
    };
    let parsed = Url::parse(url).map_err(|e| err(e.to_string()))?;
    // A connection dropped mid-body is retried like one dropped before
    // the answer (the HTTP stack's retries end when headers arrive).
    let mut tries = 0;
    let mut w = loop {
        tries += 1;
        let resp = http.get(parsed.clone()).map_err(|e| err(chain(&e)))?;
        if !resp.status().is_success() {
            return Err(err(format!("HTTP {}", resp.status().as_u16())));
        }
        let total = resp.content_length();
        let mut resp = progress::bytes(Kind::Download, pin.name.clone(), total).reader(resp);
        let tmp = cache.temp_file()?;
        let mut w = HashingWriter::new(std::io::BufWriter::with_capacity(1 << 20, tmp));
        match std::io::copy(&mut resp, &mut w) {
            Ok(_) => break w,
            Err(_) if tries < 3 => continue,
            Err(e) => return Err(err(chain(&e))),
        }
    };
    w.flush().map_err(|e| err(e.to_string()))?;
    let (buf, digest, _) = w.finish();
    let tmp = buf.into_inner().map_err(|e| err(e.error().to_string()))?;
    let actual = digest.hex().to_string();
    check_hash(pin, &actual, url)?;
    if let Some(h) = listed {
        if h != actual {
            return Err(mismatch(pin, url, &actual, h));
        }
    }
    match cache.persist(tmp, &digest) {
        Ok(p) => Ok(p),
        Err(CacheError::Io { .. }) if cache.get(&digest, None).is_some() => {
            Ok(cache.get(&digest, None).expect("just checked"))
        }
        Err(e) => Err(e.into()),
    }
}

/// The verified bytes of one listed file (wheel or sdist): from the blob
/// cache by its hash, a local path, or a download.
pub(super) fn fetch_file(
    pin: &Pin,
    chosen: &LockedWheel,
    http: &HttpClient,
    cache: &Cache,
    policy: &Policy,
) -> Result<Got, LockError> {
    let known = chosen
        .sha256
        .clone()
        .or_else(|| (pin.hashes.len() == 1).then(|| pin.hashes[0].clone()));
    let where_ = where_of(&chosen.location);
    let warning = if policy.lock && known.is_none() {
        unverified(
            pin,
            policy.strict,
            format!("the lock gives no sha256 for {where_}"),
        )?
    } else {
        None
    };
    if let Some(h) = &known {
        check_hash(pin, h, &where_)?;
        if let Some(path) = Digest::try_from(format!("sha256:{h}"))
            .ok()
            .and_then(|d| cache.get(&d, None))
        {
            return Ok(Got::new(chosen.filename.clone(), path, "cached"));
        }
    }
    let path = match &chosen.location {
        Location::Path(p) => {
            let actual = sha256_file(p)?;
            check_hash(pin, &actual, &where_)?;
            if let Some(h) = &chosen.sha256 {
                if h != &actual {
                    return Err(mismatch(pin, &where_, &actual, h));
                }
            }
            return Ok(Got {
                warning,
                ..Got::new(chosen.filename.clone(), p.clone(), "local")
            });
        }
        Location::Url(url) => download(pin, url, chosen.sha256.as_deref(), http, cache)?,
    };
    Ok(Got {
        warning,
        ..Got::new(chosen.filename.clone(), path, "downloaded")
    })
}

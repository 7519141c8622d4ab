//! Outputs: push to a registry, OCI image layout, `docker load` tarball.

pub mod push;

//! The image model every stage shares: digests, references, media types,
//! layer descriptors, the image (config + layers + manifest) and the config
//! changes a build applies. Depends on nothing else in pyko.

pub mod config;
pub mod digest;
mod image;
pub mod media_types;
pub mod path;
pub mod reference;

pub use digest::{Digest, HashingReader, HashingWriter};
pub use image::{Blob, BlobSource, Image, ImageLayer, Layer, Platform};
pub use reference::Reference;

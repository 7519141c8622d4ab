//! The image model every stage shares: digests, references, media types,
//! platforms, descriptors, the image (config + layers + manifest), the
//! index over several, and the config changes a build applies. Depends on
//! nothing else in pyko.

pub mod compression;
pub mod config;
mod descriptor;
pub mod digest;
mod image;
mod index;
pub mod media_types;
pub mod path;
mod platform;
pub mod reference;

pub use compression::Compression;
pub use descriptor::{Descriptor, REF_NAME_ANNOTATION};
pub use digest::{Digest, HashingReader, HashingWriter};
pub use image::{Blob, BlobSource, Image, ImageLayer, Layer, ManifestJson};
pub use index::{ImageSet, IndexJson};
pub use platform::{host_architecture, Platform};
pub use reference::Reference;

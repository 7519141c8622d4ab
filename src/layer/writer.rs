//! Deterministic tar + parallel gzip writer. (Being written.)

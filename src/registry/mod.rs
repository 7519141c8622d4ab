//! Registry client. (Being written.)

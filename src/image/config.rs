//! Inheriting and extending the base config. (Being written.)

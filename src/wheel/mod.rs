//! Wheel installer. (Being written.)

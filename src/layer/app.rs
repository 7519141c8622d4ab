//! The application directory as layer entries, honouring `.dockerignore`. (Being written.)

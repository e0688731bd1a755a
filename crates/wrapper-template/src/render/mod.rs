//! The Jinja engine (to be written).

//! A downstream wrapper plugin (in progress).

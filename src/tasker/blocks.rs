//! Placeholder: the structured blocks module is being written.

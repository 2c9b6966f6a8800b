//! The console in a real browser: placeholder, filled in below.

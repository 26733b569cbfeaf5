//! Takes a JIM release bundle across the air gap: verify, load, configure, bring up.

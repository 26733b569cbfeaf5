//! One module per subcommand. Each turns the parsed options into a library call and prints
//! results to stdout, messages to stderr.

pub mod build;
pub mod keygen;
pub mod plan;
pub mod postgres_image;
pub mod release_assets;

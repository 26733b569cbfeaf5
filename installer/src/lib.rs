//! Takes a JIM release bundle across the air gap: verify it while reading the media once,
//! check the host, load the images through the Docker Engine API, write `.env`, bring the stack
//! up with Docker Compose v2 and wait until JIM is ready.

pub mod backup;
pub mod compose;
pub mod configure;
pub mod docker;
pub mod exit;
pub mod load;
pub mod preflight;
pub mod ready;
pub mod release;
pub mod state;
pub mod upgrade;
pub mod verify;

//! The real worker with one extra migration: version B of the upgrade tests.

use std::process::ExitCode;

use jim_upgrade_fixture::{Request, next_migrator, request, unknown};

fn main() -> ExitCode {
    match request() {
        Request::Run => jim_worker::run_with_migrator(next_migrator()),
        Request::Healthcheck => jim_worker::healthcheck(),
        Request::SchemaVersion => jim_worker::print_schema_version(&next_migrator()),
        Request::Unknown(argument) => unknown(&argument),
    }
}

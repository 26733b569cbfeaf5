//! The exit codes are defined once, in `jim_install::exit`; the install guide that the bundler
//! writes must list exactly those.

use jim_bundle::documents::INSTALLER_EXIT_CODES;
use jim_install::exit::Exit;

#[test]
fn the_install_guide_lists_every_exit_code_and_no_other() {
    let documented: Vec<u8> = INSTALLER_EXIT_CODES.iter().map(|(code, _)| *code).collect();
    let defined: Vec<u8> = Exit::ALL.iter().map(|exit| *exit as u8).collect();
    assert_eq!(documented, defined);
}

pub mod release_server;
pub mod site;

//! The service binaries are static: in an empty root, with nothing but the binary and
//! `/etc/hosts`, the worker resolves the database by name and migrates it, the way it will in a
//! `FROM scratch` container where compose names resolve through `/etc/hosts` and DNS.

use std::process::Command;
use std::time::{Duration, Instant};

use jim_testkit::{TestDatabase, binary, server_address};

#[tokio::test(flavor = "multi_thread")]
async fn the_worker_resolves_a_hosts_file_name_in_an_empty_root() {
    let output = Command::new("file")
        .arg(binary("jim-worker"))
        .output()
        .expect("`file` is missing: apt-get install file (.ci/run does)");
    let description = String::from_utf8_lossy(&output.stdout);
    assert!(
        description.contains("statically linked") || description.contains("static-pie linked"),
        "{description}"
    );

    let database = TestDatabase::create().await;
    let root = jim_testkit::tempfile_folder::Folder::new("empty-root");
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    std::fs::create_dir_all(root.path().join("tmp")).unwrap();
    std::fs::create_dir_all(root.path().join("logs")).unwrap();
    std::fs::copy(binary("jim-worker"), root.path().join("jim-worker")).unwrap();
    let (host, port) = server_address();
    assert_eq!(
        host, "127.0.0.1",
        "this test maps a name to the loopback test server"
    );
    std::fs::write(
        root.path().join("etc/hosts"),
        "127.0.0.1 localhost\n127.0.0.1 jim.database\n",
    )
    .unwrap();
    // A container always has /dev with the random devices; so does this root.
    std::fs::create_dir_all(root.path().join("dev")).unwrap();
    for (name, minor) in [("null", "3"), ("random", "8"), ("urandom", "9")] {
        let status = Command::new("mknod")
            .arg(root.path().join("dev").join(name))
            .args(["c", "1", minor])
            .status()
            .expect("mknod");
        assert!(
            status.success(),
            "mknod needs root: run the tests as root, as CI does"
        );
    }
    // Nothing else: no libc, no nsswitch.conf, no resolv.conf, no shell.
    let entries: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(entries.len(), 5, "{entries:?}");

    let mut env = database.service_env();
    env.retain(|(name, _)| name != "JIM_DB_HOSTNAME");
    let mut command = Command::new("/usr/sbin/chroot");
    command
        .arg(root.path())
        .arg("/jim-worker")
        .env_clear()
        .env("JIM_DB_HOSTNAME", format!("jim.database:{port}"))
        .env("JIM_LOG_LEVEL", "Information")
        .env("JIM_LOG_PATH", "/logs")
        .env("JIM_HEARTBEAT_PATH", "/tmp/healthcheck")
        .stdout(std::fs::File::create(root.path().join("output.log")).unwrap())
        .stderr(std::process::Stdio::inherit());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .spawn()
        .expect("chroot needs root: run the tests as root, as CI does");

    let started = Instant::now();
    let mut output = String::new();
    while started.elapsed() < Duration::from_secs(60) {
        output = std::fs::read_to_string(root.path().join("output.log")).unwrap_or_default();
        if output.contains("left maintenance mode") || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(output.contains("Connected to the database"), "{output}");
    assert!(output.contains("left maintenance mode"), "{output}");
    assert!(root.path().join("tmp/healthcheck").exists());
}

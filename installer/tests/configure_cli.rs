//! `jim-install configure` without a terminal: answers files, `JIM_SETUP_*` variables, `--check`,
//! `--json`, reruns, and what Docker Compose reads back from the file it writes.

use std::fs;
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_jim-install");

/// Every run must end well within this; a prompt waiting for input would not.
const RUN_LIMIT: Duration = Duration::from_secs(60);

const SECRET: &str = "s3cret with \"quotes\", \\ and $HOME # not a comment";

/// An install folder holding `compose/.env.example` copied from the repository's template.
struct Install {
    folder: tempfile::TempDir,
}

impl Install {
    fn new() -> Self {
        let folder = tempfile::tempdir().expect("a temporary install folder");
        fs::create_dir(folder.path().join("compose")).expect("create compose/");
        fs::write(folder.path().join("compose/.env.example"), template()).expect("copy template");
        Self { folder }
    }

    fn root(&self) -> &Path {
        self.folder.path()
    }

    fn env_path(&self) -> PathBuf {
        self.root().join("compose/.env")
    }

    fn env_text(&self) -> String {
        fs::read_to_string(self.env_path()).expect("read .env")
    }

    fn answers(&self, yaml: &str) -> PathBuf {
        let path = self.root().join("answers.yml");
        fs::write(&path, yaml).expect("write answers");
        path
    }

    /// `jim-install configure --dir <folder>` with a clean environment and no terminal.
    fn configure(&self, arguments: &[&str], variables: &[(&str, &str)]) -> Output {
        let mut command = Command::new(BIN);
        command
            .arg("configure")
            .arg("--dir")
            .arg(self.root())
            .args(arguments)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(variables.iter().copied());
        run(command)
    }
}

fn template() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../compose-templates/.env.example"
    );
    fs::read_to_string(path).expect("the repository's compose-templates/.env.example")
}

/// Runs `command` with no stdin, failing the test if it outlives [`RUN_LIMIT`].
fn run(mut command: Command) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start jim-install");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("poll jim-install").is_some() {
            return child.wait_with_output().expect("collect output");
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            panic!("jim-install configure hung for {RUN_LIMIT:?}; stderr so far:\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("0.0.0.0:0").expect("bind a free port");
    listener.local_addr().expect("address").port()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

/// The raw value on the line `KEY=...` of `text`.
fn line_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
}

fn full_answers(port: u16) -> String {
    format!(
        "database:\n  mode: bundled\n\
         sso:\n  authority: https://idp.example.org/realms/jim\n  clientId: jim-web\n  \
         secret: '{}'\n  apiScope: api://jim/access_as_user\n  initialAdmin: 0f3c-admin\n\
         web:\n  port: {port}\n\
         log:\n  level: warning\n",
        SECRET.replace('\'', "''")
    )
}

#[test]
fn answers_file_writes_every_setting_and_keeps_the_other_lines() {
    let install = Install::new();
    let port = free_port();
    let answers = install.answers(&full_answers(port));
    let output = install.configure(&["--answers", answers.to_str().expect("UTF-8")], &[]);
    assert_exit(&output, 0);

    let text = install.env_text();
    let password = line_value(&text, "JIM_DB_PASSWORD").expect("a password line");
    assert_eq!(password.len(), 32, "{password}");
    assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
    let api_key = line_value(&text, "JIM_INFRASTRUCTURE_API_KEY").expect("an API key line");
    assert!(
        api_key.starts_with("jim_ak_") && api_key.len() == 71,
        "{api_key}"
    );

    // Line by line: the template with exactly these lines replaced, nothing else touched.
    let port_line = format!("JIM_WEB_PORT={port}");
    let expected: Vec<String> = template()
        .lines()
        .map(|line| match line {
            "JIM_DB_PASSWORD=CHANGE_ME" => format!("JIM_DB_PASSWORD={password}"),
            "# JIM_INFRASTRUCTURE_API_KEY=" => format!("JIM_INFRASTRUCTURE_API_KEY={api_key}"),
            "JIM_LOG_LEVEL=Information" => "JIM_LOG_LEVEL=Warning".to_string(),
            "JIM_SSO_AUTHORITY=" => "JIM_SSO_AUTHORITY=https://idp.example.org/realms/jim".into(),
            "JIM_SSO_CLIENT_ID=" => "JIM_SSO_CLIENT_ID=jim-web".into(),
            "JIM_SSO_SECRET=" => {
                r#"JIM_SSO_SECRET="s3cret with \"quotes\", \\ and \$HOME # not a comment""#.into()
            }
            "JIM_SSO_API_SCOPE=" => "JIM_SSO_API_SCOPE=api://jim/access_as_user".into(),
            "JIM_SSO_INITIAL_ADMIN=" => "JIM_SSO_INITIAL_ADMIN=0f3c-admin".into(),
            "JIM_WEB_PORT=5200" => port_line.clone(),
            other => other.to_string(),
        })
        .collect();
    let written: Vec<&str> = text.lines().collect();
    assert_eq!(written, expected);

    assert_eq!(mode(&install.env_path()), 0o600);
    assert!(!install.root().join("compose/.env.previous").exists());
    assert!(!stderr(&output).contains("s3cret"), "{}", stderr(&output));
}

#[test]
fn setup_variables_override_the_answers_file() {
    let install = Install::new();
    let answers = install.answers(&full_answers(free_port()));
    let port = free_port().to_string();
    let output = install.configure(
        &["--answers", answers.to_str().expect("UTF-8")],
        &[
            ("JIM_SETUP_LOG_LEVEL", "Error"),
            ("JIM_SETUP_WEB_PORT", &port),
            ("JIM_SETUP_SSO_CLAIM_TYPE", "oid"),
        ],
    );
    assert_exit(&output, 0);
    let text = install.env_text();
    assert_eq!(line_value(&text, "JIM_LOG_LEVEL"), Some("Error"));
    assert_eq!(line_value(&text, "JIM_WEB_PORT"), Some(port.as_str()));
    assert_eq!(line_value(&text, "JIM_SSO_CLAIM_TYPE"), Some("oid"));
    assert_eq!(line_value(&text, "JIM_SSO_CLIENT_ID"), Some("jim-web"));
}

#[test]
fn unknown_answers_key_is_refused_naming_the_key_and_file() {
    let install = Install::new();
    let answers = install.answers("sso:\n  clientID: jim-web\n");
    let output = install.configure(&["--answers", answers.to_str().expect("UTF-8")], &[]);
    assert_exit(&output, 2);
    let message = stderr(&output);
    assert!(message.contains("clientID"), "{message}");
    assert!(
        message.contains(&answers.display().to_string()),
        "{message}"
    );
    assert!(message.contains("hint:"), "{message}");
    assert!(!install.env_path().exists());
}

#[test]
fn missing_required_answer_names_the_key_the_file_and_the_variable() {
    let install = Install::new();
    let answers = install.answers(&full_answers(free_port()).replace("initialAdmin", "# no"));
    let output = install.configure(&["--answers", answers.to_str().expect("UTF-8")], &[]);
    assert_exit(&output, 2);
    let message = stderr(&output);
    for expected in [
        "sso.initialAdmin",
        "JIM_SSO_INITIAL_ADMIN",
        "JIM_SETUP_SSO_INITIAL_ADMIN",
        answers.to_str().expect("UTF-8"),
    ] {
        assert!(
            message.contains(expected),
            "`{expected}` missing from:\n{message}"
        );
    }
    assert!(!install.env_path().exists());
}

#[test]
fn invalid_answer_names_the_value_and_where_it_came_from() {
    let install = Install::new();
    let answers = install.answers(&full_answers(free_port()));
    let output = install.configure(
        &["--answers", answers.to_str().expect("UTF-8")],
        &[("JIM_SETUP_SSO_AUTHORITY", "idp.example.org")],
    );
    assert_exit(&output, 2);
    let message = stderr(&output);
    assert!(message.contains("`idp.example.org`"), "{message}");
    assert!(message.contains("JIM_SETUP_SSO_AUTHORITY"), "{message}");
    assert!(message.contains("http"), "{message}");
}

#[test]
fn no_terminal_and_no_answers_stops_at_once_with_a_hint() {
    let install = Install::new();
    let started = Instant::now();
    let output = install.configure(&[], &[]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_exit(&output, 2);
    let message = stderr(&output);
    assert!(message.contains("terminal"), "{message}");
    assert!(
        message.contains("hint:") && message.contains("--answers FILE"),
        "{message}"
    );
    assert!(message.contains("JIM_SETUP_"), "{message}");
    assert!(!install.env_path().exists());
}

#[test]
fn check_prints_masked_settings_and_writes_nothing() {
    let install = Install::new();
    let answers = install.answers(&full_answers(free_port()));
    let output = install.configure(
        &["--answers", answers.to_str().expect("UTF-8"), "--check"],
        &[],
    );
    assert_exit(&output, 0);
    assert!(!install.env_path().exists());
    let printed = stdout(&output);
    assert!(printed.contains("JIM_SSO_SECRET=********"), "{printed}");
    assert!(printed.contains("JIM_DB_PASSWORD=********"), "{printed}");
    assert!(printed.contains("JIM_SSO_CLIENT_ID=jim-web"), "{printed}");
    assert!(!printed.contains("s3cret"), "{printed}");

    // On an existing file too, not a byte changes.
    let first = install.configure(&["--answers", answers.to_str().expect("UTF-8")], &[]);
    assert_exit(&first, 0);
    let before = install.env_text();
    let output = install.configure(
        &["--check"],
        &[
            ("JIM_SETUP_LOG_LEVEL", "Fatal"),
            ("JIM_SETUP_WEB_PORT", &free_port().to_string()),
        ],
    );
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("JIM_LOG_LEVEL=Fatal  (changed)"));
    assert_eq!(install.env_text(), before);
    assert!(!install.root().join("compose/.env.previous").exists());
}

#[test]
fn rerun_keeps_the_database_password_and_every_other_value() {
    let install = Install::new();
    let answers = install.answers(&full_answers(free_port()));
    let first = install.configure(&["--answers", answers.to_str().expect("UTF-8")], &[]);
    assert_exit(&first, 0);
    let before = install.env_text();

    // Only one answer this time: everything else comes from the existing .env.
    let output = install.configure(&["--json"], &[("JIM_SETUP_LOG_LEVEL", "Debug")]);
    assert_exit(&output, 0);
    let after = install.env_text();
    assert_eq!(
        after,
        before.replace("JIM_LOG_LEVEL=Warning", "JIM_LOG_LEVEL=Debug")
    );

    let outcome: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!(
        outcome["changed_keys"],
        serde_json::json!(["JIM_LOG_LEVEL"])
    );
    assert_eq!(outcome["database_mode"], "bundled");
    assert_eq!(outcome["generated_password"], false);

    let previous = install.root().join("compose/.env.previous");
    assert_eq!(
        fs::read_to_string(&previous).expect("read .env.previous"),
        before
    );
    assert_eq!(mode(&previous), 0o600);
    assert_eq!(mode(&install.env_path()), 0o600);
}

#[test]
fn json_outcome_holds_no_secret() {
    let install = Install::new();
    let port = free_port();
    let answers = install.answers(&full_answers(port));
    let output = install.configure(
        &["--answers", answers.to_str().expect("UTF-8"), "--json"],
        &[],
    );
    assert_exit(&output, 0);
    let printed = stdout(&output);
    let outcome: serde_json::Value = serde_json::from_str(&printed).expect("JSON on stdout");
    assert_eq!(outcome["web_port"], port);
    assert_eq!(outcome["database_mode"], "bundled");
    assert_eq!(outcome["written"], true);
    assert!(
        outcome["written_keys"]
            .as_array()
            .expect("a list")
            .contains(&serde_json::json!("JIM_SSO_SECRET"))
    );

    let text = install.env_text();
    for key in ["JIM_DB_PASSWORD", "JIM_INFRASTRUCTURE_API_KEY"] {
        let secret = line_value(&text, key).expect("a secret line");
        assert!(!printed.contains(secret), "{key} leaked into:\n{printed}");
    }
    assert!(!printed.contains("s3cret"), "{printed}");
}

#[test]
fn port_in_use_is_refused_unless_allowed() {
    let install = Install::new();
    let listener = TcpListener::bind("0.0.0.0:0").expect("hold a port");
    let port = listener.local_addr().expect("address").port().to_string();
    let answers = install.answers(&full_answers(free_port()));
    let answers = answers.to_str().expect("UTF-8");

    let output = install.configure(&["--answers", answers], &[("JIM_SETUP_WEB_PORT", &port)]);
    assert_exit(&output, 2);
    let message = stderr(&output);
    assert!(
        message.contains(&format!("`{port}`")) && message.contains("in use"),
        "{message}"
    );
    assert!(message.contains("--allow-port-in-use"), "{message}");
    assert!(!install.env_path().exists());

    let output = install.configure(
        &["--answers", answers, "--allow-port-in-use"],
        &[("JIM_SETUP_WEB_PORT", &port)],
    );
    assert_exit(&output, 0);
    assert!(stderr(&output).contains("warning:"), "{}", stderr(&output));
    assert_eq!(
        line_value(&install.env_text(), "JIM_WEB_PORT"),
        Some(port.as_str())
    );
    drop(listener);
}

#[test]
fn docker_compose_reads_back_every_value_as_written() {
    let install = Install::new();
    let answers = install.answers(&full_answers(free_port()));
    let output = install.configure(&["--answers", answers.to_str().expect("UTF-8")], &[]);
    assert_exit(&output, 0);

    let compose_file = install.root().join("probe.yml");
    fs::write(
        &compose_file,
        "services:\n  probe:\n    image: probe\n    environment:\n\
         \x20     SECRET: ${JIM_SSO_SECRET}\n\
         \x20     ATTRIBUTE: ${JIM_SSO_MV_ATTRIBUTE}\n\
         \x20     PASSWORD: ${JIM_DB_PASSWORD}\n\
         \x20     AUTHORITY: ${JIM_SSO_AUTHORITY}\n",
    )
    .expect("write the probe compose file");
    let mut command = Command::new("docker");
    command
        .args(["compose", "--env-file"])
        .arg(install.env_path())
        .arg("-f")
        .arg(&compose_file)
        .args(["config", "--format", "json"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent-home-for-the-test");
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run `docker compose`: {error}\n{COMPOSE_HINT}"));
    assert!(
        output.status.success(),
        "`docker compose config` failed:\n{}\n{COMPOSE_HINT}",
        stderr(&output)
    );

    let config: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON config");
    let environment = &config["services"]["probe"]["environment"];
    // `config` prints a resolved file, in which a literal `$` is written `$$`.
    let read = |name: &str| {
        environment[name]
            .as_str()
            .expect("a string")
            .replace("$$", "$")
    };
    assert_eq!(read("SECRET"), SECRET);
    assert_eq!(read("ATTRIBUTE"), "Subject Identifier");
    assert_eq!(
        read("PASSWORD"),
        line_value(&install.env_text(), "JIM_DB_PASSWORD").expect("password")
    );
    assert_eq!(read("AUTHORITY"), "https://idp.example.org/realms/jim");
}

const COMPOSE_HINT: &str =
    "hint: Docker Compose v2 is needed (`docker compose version`); .ci/install-compose installs it";

/// The test PostgreSQL that `.ci/start-postgres` prepares, as the services' tests find it.
fn test_database() -> (String, String, String) {
    let setting = |name: &str, default: &str| std::env::var(name).unwrap_or(default.to_string());
    (
        setting("JIM_TEST_DB_HOST", "127.0.0.1:5432"),
        setting("JIM_TEST_DB_USERNAME", "jim_test"),
        setting("JIM_TEST_DB_PASSWORD", "jim_test"),
    )
}

#[test]
fn external_database_is_tested_when_the_answers_ask_for_it() {
    let (host, username, password) = test_database();
    let install = Install::new();
    let answers = install.answers(&full_answers(free_port()));
    let answers = answers.to_str().expect("UTF-8");
    let database = |password: &str| {
        vec![
            ("JIM_SETUP_DB_MODE", "external".to_string()),
            ("JIM_SETUP_DB_HOST", host.clone()),
            ("JIM_SETUP_DB_NAME", "postgres".to_string()),
            ("JIM_SETUP_DB_USERNAME", username.clone()),
            ("JIM_SETUP_DB_PASSWORD", password.to_string()),
            ("JIM_SETUP_DB_TEST_CONNECTION", "true".to_string()),
        ]
    };

    let wrong = database("wrong-password-for-the-test");
    let variables: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let output = install.configure(&["--answers", answers], &variables);
    assert_exit(&output, 10);
    let message = stderr(&output);
    assert!(
        message.contains("cannot connect to the database"),
        "{message}"
    );
    assert!(message.contains("testConnection: false"), "{message}");
    assert!(
        !message.contains("wrong-password-for-the-test"),
        "{message}"
    );
    assert!(!install.env_path().exists());

    let right = database(&password);
    let variables: Vec<(&str, &str)> = right.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let output = install.configure(&["--answers", answers], &variables);
    assert!(
        output.status.success(),
        "the test PostgreSQL at {host} refused `{username}`:\n{}\n\
         hint: start it with `bash .ci/start-postgres`",
        stderr(&output)
    );
    let text = install.env_text();
    assert_eq!(line_value(&text, "JIM_DB_HOSTNAME"), Some(host.as_str()));
    assert_eq!(line_value(&text, "JIM_DB_NAME"), Some("postgres"));
}

#[test]
fn missing_template_is_a_usage_error_with_a_hint() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let mut command = Command::new(BIN);
    command
        .args(["configure", "--dir"])
        .arg(folder.path())
        .env_clear()
        .env("JIM_SETUP_LOG_LEVEL", "Debug");
    let output = run(command);
    assert_exit(&output, 2);
    let message = stderr(&output);
    assert!(
        message.contains(".env.example") && message.contains("hint:"),
        "{message}"
    );
}

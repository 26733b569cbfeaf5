//! The `jim-install configure` wizard driven through a real pseudo-terminal: tmux runs the
//! binary, the test reads the screen and types like a person would, waiting for each whole
//! prompt before pressing a key.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_jim-install");

/// How long one prompt may take to appear.
const PROMPT_LIMIT: Duration = Duration::from_secs(30);

const TMUX_HINT: &str = "hint: install tmux (`apt-get install tmux`); .ci/run installs it";

/// A tmux server of the test's own, running one command in a 200×50 window.
struct Terminal {
    socket: String,
    home: tempfile::TempDir,
}

impl Terminal {
    /// Starts `command` (a shell command line) in a new detached session.
    fn start(command: &str) -> Self {
        static SESSIONS: AtomicUsize = AtomicUsize::new(0);
        let socket = format!(
            "jim-configure-test-{}-{}",
            std::process::id(),
            SESSIONS.fetch_add(1, Ordering::SeqCst)
        );
        let home = tempfile::tempdir().expect("a home folder for tmux");
        let terminal = Self { socket, home };
        let output = terminal.tmux(&[
            "new-session",
            "-d",
            "-x",
            "200",
            "-y",
            "50",
            "-s",
            "wizard",
            command,
        ]);
        assert!(
            output.status.success(),
            "tmux cannot start a session: {}\n{TMUX_HINT}",
            String::from_utf8_lossy(&output.stderr)
        );
        terminal
    }

    /// Runs tmux on this test's own server, with a clean environment and no user configuration,
    /// so that no `JIM_SETUP_*` variable of the caller reaches the wizard.
    fn tmux(&self, arguments: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-u", "-f", "/dev/null", "-L", &self.socket])
            .args(arguments)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("LANG", "C.UTF-8")
            .env("TERM", "xterm-256color")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|error| panic!("cannot run tmux: {error}\n{TMUX_HINT}"))
    }

    /// Everything the window has shown, scrollback included.
    fn screen(&self) -> String {
        let output = self.tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", "wizard"]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Waits until every one of `texts` is on the screen, and returns the screen.
    fn wait_for(&self, texts: &[&str]) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if texts.iter().all(|text| screen.contains(text)) {
                return screen;
            }
            if started.elapsed() > PROMPT_LIMIT {
                panic!("waited {PROMPT_LIMIT:?} for {texts:?}; the screen shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types `text` literally.
    fn type_text(&self, text: &str) {
        let output = self.tmux(&["send-keys", "-t", "wizard", "-l", text]);
        assert!(output.status.success(), "send-keys failed");
    }

    /// Presses keys by their tmux names, such as `Enter` or `Down`.
    fn press(&self, keys: &[&str]) {
        let mut arguments = vec!["send-keys", "-t", "wizard"];
        arguments.extend_from_slice(keys);
        let output = self.tmux(&arguments);
        assert!(output.status.success(), "send-keys failed");
    }

    /// Waits for the prompt, types the answer and presses Enter.
    fn answer(&self, prompt: &str, text: &str) {
        self.wait_for(&[prompt]);
        self.type_text(text);
        self.press(&["Enter"]);
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// An install folder holding `compose/.env.example` copied from the repository's template.
fn install_folder() -> tempfile::TempDir {
    let folder = tempfile::tempdir().expect("a temporary install folder");
    fs::create_dir(folder.path().join("compose")).expect("create compose/");
    fs::write(folder.path().join("compose/.env.example"), template()).expect("copy template");
    folder
}

fn template() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../compose-templates/.env.example"
    );
    fs::read_to_string(path).expect("the repository's compose-templates/.env.example")
}

fn env_path(folder: &Path) -> PathBuf {
    folder.join("compose/.env")
}

/// The shell command that runs the wizard and then shows its exit status.
fn wizard_command(folder: &Path) -> String {
    format!(
        "'{BIN}' configure --dir '{}'; echo \"[exit status $?]\"; sleep 600",
        folder.display()
    )
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("0.0.0.0:0").expect("bind a free port");
    listener.local_addr().expect("address").port()
}

fn line_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
}

const DATABASE_PROMPT: &str = "? Where should JIM's database run?";
const AUTHORITY: &str = "https://idp.example.org/realms/jim";

/// Answers the single sign-on questions of a first run; the secret is typed and checked not
/// to appear on the screen, before and after Enter.
fn answer_sso_first_run(terminal: &Terminal, secret: &str) {
    // A value that is not a URL is refused on the spot, and the question is asked again.
    terminal.answer("? Issuer URL (authority) ›", "idp.example.org");
    terminal.wait_for(&["expected an http:// or https:// URL"]);
    terminal.answer("? Issuer URL (authority) ›", AUTHORITY);
    terminal.answer("? Client id ›", "jim-web");

    terminal.wait_for(&["? Client secret ›"]);
    terminal.type_text(secret);
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !terminal.screen().contains(secret),
        "the secret is echoed while typed"
    );
    terminal.press(&["Enter"]);

    terminal.wait_for(&["? API scope (may be empty) ›"]);
    terminal.press(&["Enter"]);
    terminal.wait_for(&["? Claim that identifies a user (sub) ›"]);
    terminal.press(&["Enter"]);
    terminal.wait_for(&["? Metaverse attribute holding that claim (Subject Identifier) ›"]);
    terminal.press(&["Enter"]);
    terminal.answer("? Claim value of the first administrator ›", "admin-sub");
}

#[test]
fn wizard_writes_typed_answers_and_defaults_without_showing_the_secret() {
    let folder = install_folder();
    let terminal = Terminal::start(&wizard_command(folder.path()));
    let secret = "Typed-Secret-4711";

    // Bundled database: the default, taken with Enter once the whole menu is drawn.
    terminal.wait_for(&[DATABASE_PROMPT, "External PostgreSQL server"]);
    terminal.press(&["Enter"]);
    answer_sso_first_run(&terminal, secret);

    // A port that is taken is refused on the spot; a free one is accepted.
    let busy = TcpListener::bind("0.0.0.0:0").expect("hold a port");
    let busy_port = busy.local_addr().expect("address").port();
    terminal.answer(
        "? Web port (or address:port) (5200) ›",
        &busy_port.to_string(),
    );
    terminal.wait_for(&[&format!("port {busy_port} is already in use")]);
    let port = free_port();
    terminal.answer("? Web port (or address:port) (5200) ›", &port.to_string());
    drop(busy);

    // Log level: one step down from the default Information.
    terminal.wait_for(&["? Log level", "Fatal"]);
    terminal.press(&["Down", "Enter"]);
    let screen = terminal.wait_for(&["? Write ", "(y/n)"]);
    assert!(screen.contains("JIM_SSO_SECRET=********"), "{screen}");
    terminal.press(&["Enter"]);
    let screen = terminal.wait_for(&["[exit status "]);
    assert!(screen.contains("[exit status 0]"), "{screen}");
    // The capture does show what was typed in the clear, so the secret's absence means something.
    assert!(screen.contains("admin-sub"), "{screen}");
    assert!(
        !screen.contains(secret),
        "the secret appeared on the screen:\n{screen}"
    );

    // The file, line by line: the template with exactly the answered lines replaced.
    let text = fs::read_to_string(env_path(folder.path())).expect("read .env");
    let password = line_value(&text, "JIM_DB_PASSWORD").expect("a password");
    assert_eq!(password.len(), 32);
    assert!(
        !screen.contains(password),
        "the database password appeared on the screen"
    );
    let api_key = line_value(&text, "JIM_INFRASTRUCTURE_API_KEY").expect("an API key");
    assert!(api_key.starts_with("jim_ak_") && api_key.len() == 71);
    let expected: Vec<String> = template()
        .lines()
        .map(|line| match line {
            "JIM_DB_PASSWORD=CHANGE_ME" => format!("JIM_DB_PASSWORD={password}"),
            "# JIM_INFRASTRUCTURE_API_KEY=" => format!("JIM_INFRASTRUCTURE_API_KEY={api_key}"),
            "JIM_LOG_LEVEL=Information" => "JIM_LOG_LEVEL=Warning".to_string(),
            "JIM_SSO_AUTHORITY=" => format!("JIM_SSO_AUTHORITY={AUTHORITY}"),
            "JIM_SSO_CLIENT_ID=" => "JIM_SSO_CLIENT_ID=jim-web".to_string(),
            "JIM_SSO_SECRET=" => format!("JIM_SSO_SECRET={secret}"),
            "JIM_SSO_INITIAL_ADMIN=" => "JIM_SSO_INITIAL_ADMIN=admin-sub".to_string(),
            "JIM_WEB_PORT=5200" => format!("JIM_WEB_PORT={port}"),
            other => other.to_string(),
        })
        .collect();
    assert_eq!(text.lines().collect::<Vec<_>>(), expected);
    let mode = fs::metadata(env_path(folder.path()))
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn wizard_rerun_keeps_every_value_when_enter_is_pressed() {
    let folder = install_folder();
    let port = free_port().to_string();
    let first = Command::new(BIN)
        .args(["configure", "--dir"])
        .arg(folder.path())
        .env_clear()
        .env("JIM_SETUP_SSO_AUTHORITY", AUTHORITY)
        .env("JIM_SETUP_SSO_CLIENT_ID", "jim-web")
        .env("JIM_SETUP_SSO_SECRET", "first-run-secret")
        .env("JIM_SETUP_SSO_INITIAL_ADMIN", "admin-sub")
        .env("JIM_SETUP_SSO_API_SCOPE", "jim-api")
        .env("JIM_SETUP_WEB_PORT", &port)
        .env("JIM_SETUP_LOG_LEVEL", "Debug")
        .stdin(Stdio::null())
        .output()
        .expect("run the first configure");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let before = fs::read_to_string(env_path(folder.path())).expect("read .env");

    let terminal = Terminal::start(&wizard_command(folder.path()));
    terminal.wait_for(&[DATABASE_PROMPT, "External PostgreSQL server"]);
    terminal.press(&["Enter"]);
    for prompt in [
        &format!("? Issuer URL (authority) ({AUTHORITY}) ›"),
        "? Client id (jim-web) ›",
        "? Client secret (Enter keeps the current one) ›",
        "? API scope (may be empty) (jim-api) ›",
        "? Claim that identifies a user (sub) ›",
        "? Metaverse attribute holding that claim (Subject Identifier) ›",
        "? Claim value of the first administrator (admin-sub) ›",
        &format!("? Web port (or address:port) ({port}) ›"),
    ] {
        terminal.wait_for(&[prompt]);
        terminal.press(&["Enter"]);
    }
    terminal.wait_for(&["? Log level", "Fatal"]);
    terminal.press(&["Enter"]);
    let screen = terminal.wait_for(&["? Write ", "(y/n)"]);
    assert!(!screen.contains("(changed)"), "a value changed:\n{screen}");
    terminal.press(&["Enter"]);
    let screen = terminal.wait_for(&["[exit status "]);
    assert!(screen.contains("[exit status 0]"), "{screen}");
    assert!(!screen.contains("first-run-secret"), "{screen}");

    let after = fs::read_to_string(env_path(folder.path())).expect("read .env");
    assert_eq!(after, before, "the rerun changed .env");
    let previous = fs::read_to_string(folder.path().join("compose/.env.previous"))
        .expect("read .env.previous");
    assert_eq!(previous, before);
}

#[test]
fn wizard_tests_an_external_database_and_lets_the_answers_be_changed() {
    let setting = |name: &str, default: &str| std::env::var(name).unwrap_or(default.to_string());
    let host = setting("JIM_TEST_DB_HOST", "127.0.0.1:5432");
    let username = setting("JIM_TEST_DB_USERNAME", "jim_test");
    let password = setting("JIM_TEST_DB_PASSWORD", "jim_test");
    let wrong_password = "Wrong-Password-0815";

    let folder = install_folder();
    let terminal = Terminal::start(&wizard_command(folder.path()));

    // External, with a wrong password: the test fails, and the answers are asked again.
    terminal.wait_for(&[DATABASE_PROMPT, "External PostgreSQL server"]);
    terminal.press(&["Down", "Enter"]);
    terminal.answer("? Host (name or address, :port optional) ›", &host);
    terminal.answer("? Database name (jim) ›", "postgres");
    terminal.answer("? User name (jim) ›", &username);
    terminal.answer("? Password ›", wrong_password);
    terminal.wait_for(&[&format!("? Test the connection to {host} now?"), "(y/n)"]);
    terminal.press(&["Enter"]);
    terminal.wait_for(&[
        "cannot connect to",
        "? The database did not accept the connection",
        "Keep these answers anyway",
    ]);
    terminal.press(&["Enter"]);

    // The second round offers what was typed; only the password changes.
    terminal.wait_for(&[DATABASE_PROMPT, "External PostgreSQL server"]);
    terminal.press(&["Enter"]);
    for prompt in [
        &format!("? Host (name or address, :port optional) ({host}) ›"),
        "? Database name (postgres) ›",
        &format!("? User name ({username}) ›"),
    ] {
        terminal.wait_for(&[prompt]);
        terminal.press(&["Enter"]);
    }
    terminal.answer("? Password (Enter keeps the current one) ›", &password);
    terminal.wait_for(&[&format!("? Test the connection to {host} now?"), "(y/n)"]);
    terminal.press(&["Enter"]);
    let screen = terminal.wait_for(&["signed in to database postgres"]);
    assert!(
        !screen.contains("cannot connect to the database"),
        "the test PostgreSQL at {host} refused `{username}`:\n{screen}\n\
         hint: start it with `bash .ci/start-postgres`"
    );

    answer_sso_first_run(&terminal, "another-secret-value");
    terminal.answer(
        "? Web port (or address:port) (5200) ›",
        &free_port().to_string(),
    );
    terminal.wait_for(&["? Log level", "Fatal"]);
    terminal.press(&["Enter"]);
    terminal.wait_for(&["? Write ", "(y/n)"]);
    terminal.press(&["Enter"]);
    let screen = terminal.wait_for(&["[exit status "]);
    assert!(screen.contains("[exit status 0]"), "{screen}");
    assert!(
        !screen.contains(wrong_password),
        "a password appeared on the screen:\n{screen}"
    );

    let text = fs::read_to_string(env_path(folder.path())).expect("read .env");
    assert_eq!(line_value(&text, "JIM_DB_HOSTNAME"), Some(host.as_str()));
    assert_eq!(line_value(&text, "JIM_DB_NAME"), Some("postgres"));
    assert_eq!(
        line_value(&text, "JIM_DB_USERNAME"),
        Some(username.as_str())
    );
    assert_eq!(
        line_value(&text, "JIM_DB_PASSWORD"),
        Some(password.as_str())
    );
}

//! Headless Chromium for page tests, driven over the DevTools protocol: one browser process
//! with its own profile folder, one page whose DOM a test can read as often as it likes
//! (to see a page update itself), and screenshots saved as test artefacts.
//!
//! Chromium comes from Debian (`/usr/bin/chromium`); without it the test fails and says how
//! to install it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::tempfile_folder::Folder;

/// Where Debian installs Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// A headless Chromium process, killed with its children when dropped.
pub struct Browser {
    child: Child,
    port: u16,
    _profile: Folder,
}

impl Browser {
    /// Starts Chromium headless with a fresh profile and waits for its DevTools endpoint.
    pub async fn launch() -> Self {
        assert!(
            Path::new(CHROMIUM).exists(),
            "`{CHROMIUM}` is missing; the page tests need a real headless Chromium\n\
             hint: apt-get install chromium"
        );
        let profile = Folder::new("chromium-profile");
        let mut command = Command::new(CHROMIUM);
        command
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--no-proxy-server",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1280,1000",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so that dropping the browser ends its helper processes too.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start `{CHROMIUM}`: {error}"));

        // Chromium writes the port it chose into the profile folder.
        let port_file = profile.path().join("DevToolsActivePort");
        let started = Instant::now();
        let port = loop {
            if let Some(port) = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|text| text.lines().next().and_then(|line| line.parse().ok()))
            {
                break port;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "Chromium did not open its DevTools port within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        Self {
            child,
            port,
            _profile: profile,
        }
    }

    /// Connects to the browser's first page.
    pub async fn page(&self) -> BrowserPage {
        let client = crate::http_client();
        let url = format!("http://127.0.0.1:{}/json/list", self.port);
        let mut address = None;
        for _ in 0..100 {
            if let Ok(response) = client.get(&url).send().await
                && let Ok(targets) = response.json::<Vec<Value>>().await
            {
                address = targets
                    .iter()
                    .find(|target| target["type"] == "page")
                    .and_then(|target| target["webSocketDebuggerUrl"].as_str())
                    .map(String::from);
                if address.is_some() {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let address = address.expect("Chromium lists no page target");
        let (socket, _) = tokio_tungstenite::connect_async(address.as_str())
            .await
            .expect("connect to the page's DevTools websocket");
        BrowserPage { socket, next_id: 1 }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One page of the browser, driven over its DevTools websocket.
pub struct BrowserPage {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl BrowserPage {
    /// Sends a DevTools command and returns its result; events in between are skipped.
    pub async fn command(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let message = json!({"id": id, "method": method, "params": params}).to_string();
        self.socket
            .send(Message::Text(message.into()))
            .await
            .expect("send a DevTools command");
        let answer = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(message) = self.socket.next().await {
                let Ok(Message::Text(text)) = message else {
                    continue;
                };
                let Ok(value) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                if value["id"] == json!(id) {
                    return value;
                }
            }
            panic!("the DevTools websocket closed during `{method}`");
        })
        .await
        .unwrap_or_else(|_| panic!("Chromium did not answer `{method}` within 30 s"));
        assert!(answer.get("error").is_none(), "`{method}` failed: {answer}");
        answer["result"].clone()
    }

    /// Evaluates a JavaScript expression in the page and returns its value.
    pub async fn evaluate(&mut self, expression: &str) -> Value {
        let result = self
            .command(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        result["result"]["value"].clone()
    }

    /// Polls `expression` until it is true or `timeout` passes; returns whether it held.
    pub async fn wait_for(&mut self, expression: &str, timeout: Duration) -> bool {
        let started = Instant::now();
        loop {
            if self.evaluate(expression).await == json!(true) {
                return true;
            }
            if started.elapsed() > timeout {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Opens `url` and waits until the new document (after any redirect) has loaded.
    pub async fn open(&mut self, url: &str) {
        // The old document carries a mark; the new one does not.
        self.evaluate("window.__replaced = true").await;
        self.command("Page.navigate", json!({"url": url})).await;
        assert!(
            self.wait_for(
                "window.__replaced !== true && document.readyState === 'complete'",
                Duration::from_secs(30)
            )
            .await,
            "{url} did not load within 30 s"
        );
    }

    /// The text of the first element matching a CSS selector, if there is one.
    pub async fn text(&mut self, selector: &str) -> Option<String> {
        let expression = format!(
            "(function(){{var e=document.querySelector({});return e?e.textContent:null;}})()",
            json!(selector)
        );
        self.evaluate(&expression).await.as_str().map(String::from)
    }

    /// The page's address now.
    pub async fn location(&mut self) -> String {
        self.evaluate("location.href")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Saves a PNG screenshot of the whole page to `path`.
    pub async fn screenshot(&mut self, path: &Path) {
        let result = self
            .command(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true}),
            )
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(result["data"].as_str().expect("screenshot data"))
            .expect("screenshot data is base64");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create the artefact folder");
        }
        std::fs::write(path, bytes).expect("write the screenshot");
    }
}

/// `target/test-artifacts/<name>`, next to the build output, for files a person looks at
/// after a test run (screenshots).
pub fn artifact_folder(name: &str) -> PathBuf {
    let test_executable = std::env::current_exe().expect("the test's own path");
    // target/<triple>/debug/deps/<test> → target
    let target = test_executable
        .ancestors()
        .nth(4)
        .expect("the test runs from target/<triple>/debug/deps");
    let folder = target.join("test-artifacts").join(name);
    std::fs::create_dir_all(&folder).expect("create the artefact folder");
    folder
}

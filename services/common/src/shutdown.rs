//! The signal that stops a service: SIGTERM (Docker's stop) or Ctrl-C.

use tokio::sync::watch;

/// Resolves when the process receives SIGTERM or SIGINT.
pub async fn signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => tracing::info!("Ctrl-C received; shutting down"),
        () = terminate => tracing::info!("SIGTERM received; shutting down"),
    }
}

/// A shutdown flag that many tasks can wait on; set once when a signal arrives.
#[derive(Clone)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

impl Shutdown {
    /// Starts listening for signals and returns the flag.
    pub fn listen() -> Self {
        let (sender, receiver) = watch::channel(false);
        tokio::spawn(async move {
            signal().await;
            let _ = sender.send(true);
        });
        Self { receiver }
    }

    /// True once a signal has arrived.
    pub fn requested(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Resolves when a signal arrives (at once if one already has).
    pub async fn wait(&self) {
        let mut receiver = self.receiver.clone();
        let _ = receiver.wait_for(|stopped| *stopped).await;
    }

    /// Sleeps for `duration`, returning early (with `true`) if shutdown is requested.
    pub async fn sleep(&self, duration: std::time::Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(duration) => self.requested(),
            () = self.wait() => true,
        }
    }
}
